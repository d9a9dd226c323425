import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import type { DexVersionsResponse } from '@backstage-dex/plugin-dex-common';
import type { DexApi } from '../../api';
import { fakeDexApi } from '../../__testUtils__/dexApi';
import {
  openOptions,
  renderPickerField,
  selectButton,
} from '../../__testUtils__/pickerField';
import {
  DexVersionPicker,
  type DexVersionPickerUiOptions,
  dexVersionPickerValidation,
} from './DexVersionPicker';

// Backstage UI's Select renders slowly on a busy machine.
jest.setTimeout(30_000);

const versions: DexVersionsResponse = {
  dex: { allowed: ['2.45.1', '2.41.1', '2.35.1'], default: '2.41.1' },
  authenticator: { allowed: ['1.4.0', '1.2.0'], default: '1.4.0' },
};

function api(): DexApi {
  return fakeDexApi({ getVersions: jest.fn(async () => versions) });
}

async function renderField(
  props: {
    initial?: string;
    onChange: jest.Mock;
    uiOptions?: DexVersionPickerUiOptions;
  },
  dexApi: DexApi = api(),
) {
  await renderPickerField(DexVersionPicker, {
    ...props,
    dexApi,
    title: 'Dex version',
    uiField: 'DexVersionPicker',
    required: true,
  });
}

describe('DexVersionPicker', () => {
  it('lists the allowed versions and preselects the default', async () => {
    const onChange = jest.fn();
    await renderField({ onChange });

    await waitFor(async () =>
      expect(await selectButton(/Dex version/)).toHaveTextContent('2.41.1'),
    );
    expect(onChange).toHaveBeenCalledWith('2.41.1');
    // Backstage UI's Select, like the form's other fields: no visible native select.
    for (const select of document.querySelectorAll('select'))
      expect(select.closest('[aria-hidden="true"]')).not.toBeNull();
    expect((await openOptions(/Dex version/)).map(o => o.textContent)).toEqual([
      '2.45.1',
      '2.41.1',
      '2.35.1',
    ]);
  });

  it('keeps a value the form already has', async () => {
    const onChange = jest.fn();
    await renderField({ onChange, initial: '2.35.1' });

    expect(await selectButton(/Dex version/)).toHaveTextContent('2.35.1');
    expect(onChange).not.toHaveBeenCalled();
  });

  it('reports the version the user picks', async () => {
    const onChange = jest.fn();
    await renderField({ onChange });

    await waitFor(async () =>
      expect(await selectButton(/Dex version/)).toHaveTextContent('2.41.1'),
    );
    const options = await openOptions(/Dex version/);
    await userEvent.click(options.find(o => o.textContent === '2.45.1')!);
    expect(onChange).toHaveBeenLastCalledWith('2.45.1');
    expect(await selectButton(/Dex version/)).toHaveTextContent('2.45.1');
  });

  it('offers the authenticator versions with ui:options component authenticator', async () => {
    const onChange = jest.fn();
    await renderField({ onChange, uiOptions: { component: 'authenticator' } });

    await waitFor(() => expect(onChange).toHaveBeenCalledWith('1.4.0'));
    expect((await openOptions(/Dex version/)).map(o => o.textContent)).toEqual([
      '1.4.0',
      '1.2.0',
    ]);
  });

  it('says when the versions cannot be loaded', async () => {
    const dexApi = api();
    (dexApi.getVersions as jest.Mock).mockRejectedValue(new Error('boom'));
    await renderField({ onChange: jest.fn() }, dexApi);

    expect(await screen.findByRole('alert')).toHaveTextContent(
      'Could not load the options: boom',
    );
  });

  it('offers the old versions of the original pack', async () => {
    const dexApi = api();
    (dexApi.getVersions as jest.Mock).mockResolvedValue({
      ...versions,
      dex: { allowed: ['2.45.1', '2.28.0', '2.21.0'], default: '2.45.1' },
    });
    const onChange = jest.fn();
    await renderField({ onChange }, dexApi);

    await waitFor(async () =>
      expect(await selectButton(/Dex version/)).toHaveTextContent('2.45.1'),
    );
    const options = await openOptions(/Dex version/);
    expect(options.map(o => o.textContent)).toEqual([
      '2.45.1',
      '2.28.0',
      '2.21.0',
    ]);
    await userEvent.click(options.find(o => o.textContent === '2.21.0')!);
    expect(onChange).toHaveBeenLastCalledWith('2.21.0');
  });

  it('rejects a value that is not a version number', () => {
    const addError = jest.fn();
    const validation = { addError } as any;
    dexVersionPickerValidation('2.45.1', validation, {} as any);
    expect(addError).not.toHaveBeenCalled();
    dexVersionPickerValidation('latest', validation, {} as any);
    expect(addError).toHaveBeenCalledWith(
      '"latest" is not a version like 2.45.1',
    );
  });
});
