// What the attach functions need from a program: the addon object that owns it and its name.
import type { NativeObject } from '../native.ts';

export interface AttachTarget {
  /** The open, loaded native object (throws if the BpfObject was closed). */
  native(): NativeObject;
  /** The program's name (its C function name). */
  readonly name: string;
}
