/**
 * Types, constants, the version catalogue and spec validation shared by the Dex plugins.
 * No Node or React imports.
 *
 * @packageDocumentation
 */
export * from './constants';
export * from './types';
export * from './versions';
export * from './validation';
export * from './permissions';
