/// <reference path="../sqlite/wasm/wa-sqlite-types.d.ts" />
// Types for the parts of bucketlite's SQLite build (src/sqlite/wasm/, imported as
// #sqlite-wasm/...) that ship without them.
declare module '#sqlite-wasm/FacadeVFS.js' {
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

declare module '#sqlite-wasm/wa-sqlite-async.mjs' {
  export default function ModuleFactory(config?: object): Promise<unknown>;
}

declare module '#sqlite-wasm/wa-sqlite-jspi.mjs' {
  export default function ModuleFactory(config?: object): Promise<unknown>;
}

declare module '#sqlite-wasm/wa-sqlite-jspi.wasm' {
  const bytes: Uint8Array;
  export default bytes;
}
declare module '#sqlite-wasm/wa-sqlite-async.wasm' {
  const bytes: Uint8Array;
  export default bytes;
}
