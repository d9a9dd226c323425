import { useEffect } from 'react';
import { Progress } from '@backstage/core-components';
import { Flex, Select, Text } from '@backstage/ui';

/** Props of {@link DexSelectField}. */
export interface DexSelectFieldProps {
  id: string;
  label: string;
  description?: string;
  options: string[];
  /** Chosen when the field is empty and the options have loaded. */
  preselect?: string;
  value?: string;
  onChange(value: string | undefined): void;
  loading: boolean;
  /** Why the options could not be loaded. */
  error?: Error;
  required?: boolean;
  disabled?: boolean;
  rawErrors?: string[];
}

/**
 * A labelled select for a scaffolder form, Backstage UI's Select (no native `<select>`). Fills in
 * `preselect` once when the field has no value yet, so the template gets the platform default.
 */
export function DexSelectField(props: DexSelectFieldProps) {
  const {
    id,
    label,
    description,
    options,
    preselect,
    value,
    onChange,
    loading,
    error,
    required,
    disabled,
    rawErrors,
  } = props;

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
    ...(error ? [`Could not load the options: ${error.message}`] : []),
    ...(rawErrors ?? []),
  ];

  return (
    <Flex direction="column" gap="1" my="2">
      {loading ? (
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
          description={description}
          isRequired={required}
          isDisabled={disabled}
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
