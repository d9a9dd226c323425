import { useEffect } from 'react';
import { Progress } from '@backstage/core-components';
import { Flex, Text } from '@backstage/ui';

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
 * A labelled native select for a scaffolder form. Fills in `preselect` once
 * when the field has no value yet, so the template gets the platform default.
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
  const helpId = `${id}-help`;
  const errorId = `${id}-error`;
  const problems = [
    ...(error ? [`Could not load the options: ${error.message}`] : []),
    ...(rawErrors ?? []),
  ];

  return (
    <Flex direction="column" gap="1" my="2">
      <Text<'label'> as="label" htmlFor={id} variant="body-small">
        {label}
        {required ? ' *' : ''}
      </Text>
      {loading ? (
        <Progress />
      ) : (
        <select
          id={id}
          value={value ?? ''}
          required={required}
          disabled={disabled}
          aria-invalid={problems.length > 0}
          aria-describedby={
            [description ? helpId : '', problems.length ? errorId : '']
              .filter(Boolean)
              .join(' ') || undefined
          }
          onChange={e => onChange(e.target.value || undefined)}
        >
          {!value && <option value="">Select…</option>}
          {choices.map(choice => (
            <option key={choice} value={choice}>
              {choice}
            </option>
          ))}
        </select>
      )}
      {description && (
        <Text<'span'>
          as="span"
          id={helpId}
          variant="body-x-small"
          color="secondary"
        >
          {description}
        </Text>
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
