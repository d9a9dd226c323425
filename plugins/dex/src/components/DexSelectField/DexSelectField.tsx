import { useEffect } from 'react';
import { Progress } from '@backstage/core-components';

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

const styles = {
  root: { display: 'flex', flexDirection: 'column' as const, margin: '8px 0' },
  label: { fontSize: '0.875rem', marginBottom: 4 },
  select: { padding: '8px 4px', fontSize: '1rem', minWidth: 240 },
  help: { fontSize: '0.75rem', marginTop: 4, opacity: 0.8 },
  error: { fontSize: '0.75rem', marginTop: 4, color: '#d32f2f' },
};

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
    <div style={styles.root}>
      <label htmlFor={id} style={styles.label}>
        {label}
        {required ? ' *' : ''}
      </label>
      {loading ? (
        <Progress />
      ) : (
        <select
          id={id}
          style={styles.select}
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
        <span id={helpId} style={styles.help}>
          {description}
        </span>
      )}
      {problems.length > 0 && (
        <span id={errorId} role="alert" style={styles.error}>
          {problems.join(' ')}
        </span>
      )}
    </div>
  );
}
