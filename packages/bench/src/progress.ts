/* eslint-disable no-console */
/** Reports what a long run is doing: one line per step, with the time since the run began. */
export type Progress = (step: string) => void;

export const silent: Progress = () => {};

/** Progress lines on stderr: `bench [12.3 s] provision run 2 of 7`. */
export function progressOnStderr(started = performance.now()): Progress {
  return step =>
    console.error(
      `bench [${((performance.now() - started) / 1000).toFixed(1)} s] ${step}`,
    );
}
