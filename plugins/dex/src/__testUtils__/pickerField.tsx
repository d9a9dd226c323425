import { type ComponentType, useState } from 'react';
import { screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { renderInTestApp, TestApiProvider } from '@backstage/test-utils';
import type { FieldExtensionComponentProps } from '@backstage/plugin-scaffolder-react';
import { type DexApi, dexApiRef } from '../api';

/** How the scaffolder form would render a picker field. */
export interface PickerFieldOptions<UiOptions> {
  dexApi: DexApi;
  /** Receives every value the field reports. */
  onChange: jest.Mock;
  /** The schema's title: the field's label. */
  title: string;
  /** `ui:field`, as the template names the field. */
  uiField: string;
  uiOptions?: UiOptions;
  /** The value the form already holds. */
  initial?: string;
  required?: boolean;
}

/** Renders a picker the way the scaffolder form does: the form owns formData. */
export async function renderPickerField<UiOptions extends {}>(
  Picker: ComponentType<FieldExtensionComponentProps<string, UiOptions>>,
  options: PickerFieldOptions<UiOptions>,
) {
  function Field() {
    const [value, setValue] = useState(options.initial);
    const fieldProps = {
      formData: value,
      onChange: (v: string | undefined) => {
        options.onChange(v);
        setValue(v);
      },
      schema: { type: 'string', title: options.title },
      uiSchema: {
        'ui:field': options.uiField,
        'ui:options': options.uiOptions ?? {},
      },
      idSchema: { $id: `root_${options.uiField}` },
      required: options.required,
      rawErrors: [],
    } as unknown as FieldExtensionComponentProps<string, UiOptions>;
    return <Picker {...fieldProps} />;
  }
  await renderInTestApp(
    <TestApiProvider apis={[[dexApiRef, options.dexApi]]}>
      <Field />
    </TestApiProvider>,
  );
}

/** The select's button (Backstage UI's Select: no native select), named by its label and value. */
export const selectButton = (label: RegExp) =>
  screen.findByRole('button', { name: label });

/** Opens the select and returns its options. */
export async function openOptions(label: RegExp) {
  await userEvent.click(await selectButton(label));
  return screen.findAllByRole('option');
}

/** Opens the select and returns its options' texts. */
export async function optionNames(label: RegExp) {
  return (await openOptions(label)).map(o => o.textContent);
}
