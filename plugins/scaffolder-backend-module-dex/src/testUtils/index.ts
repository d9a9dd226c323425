/**
 * Helpers for tests that run the Add Dex auth template through a backend's scaffolder REST API
 * (this module's tests and an app's).
 *
 * @packageDocumentation
 */
export * from './scaffolderTasks';
