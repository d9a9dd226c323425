import { useEffect } from 'react';
import { Progress } from '@backstage/core-components';
import { useApi } from '@backstage/core-plugin-api';
import type { FieldExtensionComponentProps } from '@backstage/plugin-scaffolder-react';
import { Flex, Select, Text } from '@backstage/ui';
import useAsync from 'react-use/esm/useAsync';
import { type DexApi, dexApiRef } from '../../api';

/** What a {@link DexApiSelectField} offers once the dex backend has answered. */
export interface DexApiChoices {
  options: string[];
  /** Chosen when the field is empty and the options have loaded: the platform's default. */
  preselect?: string;
}

/** Props of {@link DexApiSelectField}. */
export interface DexApiSelectFieldProps<Loaded> {
  /** The scaffolder's props of the field (formData, onChange, schema, idSchema, ...). */
  field: FieldExtensionComponentProps<string, any>;
  /** Reads what to offer from the dex backend; called once per DexApi. */
  load(dexApi: DexApi): Promise<Loaded>;
  /** The options and the preselected one from what `load` returned (undefined while loading). */
  pick(loaded: Loaded | undefined): DexApiChoices;
  /** The field's label when the template's schema has no title. */
  label: string;
  /** The field's id when the form gives none. */
  id: string;
}

/**
 * A scaffolder field offering what the dex backend answers, in Backstage UI's Select (no native
 * `<select>`). Fills in the preselected option once when the field has no value yet, so the
 * template gets the platform default.
 */
export function DexApiSelectField<Loaded>(
  props: DexApiSelectFieldProps<Loaded>,
) {
  const { field, load, pick } = props;
  const { formData: value, onChange, schema, idSchema } = field;
  const id = idSchema?.$id ?? props.id;
  const label = schema?.title ?? props.label;
  const dexApi = useApi(dexApiRef);
  // Loaded once per DexApi: `load` is a new function on every render of the picker.
  // eslint-disable-next-line react-hooks/exhaustive-deps
  const loaded = useAsync(() => load(dexApi), [dexApi]);
  const { options, preselect } = pick(loaded.value);

  useEffect(() => {
    if (!value && preselect) {
      onChange(preselect);
    }
  }, [value, preselect, onChange]);

  // Keep a value the form already holds visible, even when it is not offered.
  const choices =
    value && !options.includes(value) ? [value, ...options] : options;
  const errorId = `${id}-error`;
  const problems = [
    ...(loaded.error
      ? [`Could not load the options: ${loaded.error.message}`]
      : []),
    ...(field.rawErrors ?? []),
  ];

  return (
    <Flex direction="column" gap="1" my="2">
      {loaded.loading ? (
        <>
          <Text<'span'> as="span" variant="body-small">
            {label}
          </Text>
          <Progress />
        </>
      ) : (
        <Select
          id={id}
          label={label}
          description={schema?.description}
          isRequired={field.required}
          isDisabled={field.disabled}
          isInvalid={problems.length > 0}
          aria-describedby={problems.length ? errorId : undefined}
          placeholder="Select…"
          options={choices.map(choice => ({ id: choice, label: choice }))}
          value={value ?? null}
          onChange={key => onChange(key ? String(key) : undefined)}
        />
      )}
      {problems.length > 0 && (
        <Text<'span'>
          as="span"
          id={errorId}
          role="alert"
          variant="body-x-small"
          color="danger"
        >
          {problems.join(' ')}
        </Text>
      )}
    </Flex>
  );
}
