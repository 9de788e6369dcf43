/// <reference types="@journeyapps/wa-sqlite" />
// Types for the parts of @journeyapps/wa-sqlite this project uses that ship without them.
declare module '@journeyapps/wa-sqlite/src/FacadeVFS.js' {
  export class FacadeVFS {
    constructor(name: string, module: unknown);
    name: string;
    mxPathname: number;
    _module: unknown;
    hasAsyncMethod(methodName: string): boolean;
    close(): void | Promise<void>;
    isReady(): boolean | Promise<boolean>;
  }
}


declare module '@journeyapps/wa-sqlite/dist/wa-sqlite-jspi.mjs' {
  export default function ModuleFactory(config?: object): Promise<unknown>;
}

declare module '@journeyapps/wa-sqlite/dist/wa-sqlite-jspi.wasm' {
  const bytes: Uint8Array;
  export default bytes;
}
declare module '@journeyapps/wa-sqlite/dist/wa-sqlite-async.wasm' {
  const bytes: Uint8Array;
  export default bytes;
}
