// Emscripten JS library (--js-library): the imports bucketlite-glue.c calls.
// Each forwards a sqlite3_vfs / sqlite3_io_methods call to the JS VFS object
// registered under `id` (Module.vfs_register in post.js), using the x-method
// signatures of wa-sqlite's FacadeVFS. A method may return a number or a
// promise of one; a promise suspends the wasm stack (Asyncify or JSPI) until
// it settles.
addToLibrary({
  // SQLITE_IOERR: what a VFS call that threw or rejected reports. An exception
  // must not unwind through SQLite's C frames.
  $blFail: (method, e) => {
    console.error(`bucketlite VFS ${method} failed`, e);
    return 10;
  },

  $blCall__deps: ['$blFail',
#if ASYNCIFY == 1
    '$Asyncify',
#endif
  ],
  $blCall: (id, method, ...args) => {
#if ASYNCIFY == 1
    // Resuming after a suspension: the import is re-entered and Asyncify
    // hands back the settled value; the method must not run twice.
    if (Asyncify.state === Asyncify.State.Rewinding) return Asyncify.handleSleep(() => {});
#endif
    let result;
    try {
      result = Module.blVfsObjects.get(id)[method](...args);
    } catch (e) {
      return blFail(method, e);
    }
    // A synchronous answer returns without unwinding the stack.
    if (typeof result?.then !== 'function') return result;
    const settled = Promise.resolve(result).catch((e) => blFail(method, e));
#if ASYNCIFY == 1
    return Asyncify.handleSleep((wakeUp) => { settled.then(wakeUp); });
#else
    return settled;
#endif
  },
  bl_vfs_xOpen__async: true,
  bl_vfs_xOpen__deps: ['$blCall'],
  bl_vfs_xOpen: (id, pVfs, zName, pFile, flags, pOutFlags) => blCall(id, 'xOpen', pVfs, zName, pFile, flags, pOutFlags),
  bl_vfs_xDelete__async: true,
  bl_vfs_xDelete__deps: ['$blCall'],
  bl_vfs_xDelete: (id, pVfs, zName, syncDir) => blCall(id, 'xDelete', pVfs, zName, syncDir),
  bl_vfs_xAccess__async: true,
  bl_vfs_xAccess__deps: ['$blCall'],
  bl_vfs_xAccess: (id, pVfs, zName, flags, pResOut) => blCall(id, 'xAccess', pVfs, zName, flags, pResOut),
  bl_vfs_xFullPathname__async: true,
  bl_vfs_xFullPathname__deps: ['$blCall'],
  bl_vfs_xFullPathname: (id, pVfs, zName, nOut, zOut) => blCall(id, 'xFullPathname', pVfs, zName, nOut, zOut),
  bl_vfs_xGetLastError__async: true,
  bl_vfs_xGetLastError__deps: ['$blCall'],
  bl_vfs_xGetLastError: (id, pVfs, nBuf, zBuf) => blCall(id, 'xGetLastError', pVfs, nBuf, zBuf),
  bl_vfs_xClose__async: true,
  bl_vfs_xClose__deps: ['$blCall'],
  bl_vfs_xClose: (id, pFile) => blCall(id, 'xClose', pFile),
  bl_vfs_xRead__async: true,
  bl_vfs_xRead__deps: ['$blCall'],
  bl_vfs_xRead: (id, pFile, pData, iAmt, offLo, offHi) => blCall(id, 'xRead', pFile, pData, iAmt, offLo, offHi),
  bl_vfs_xWrite__async: true,
  bl_vfs_xWrite__deps: ['$blCall'],
  bl_vfs_xWrite: (id, pFile, pData, iAmt, offLo, offHi) => blCall(id, 'xWrite', pFile, pData, iAmt, offLo, offHi),
  bl_vfs_xTruncate__async: true,
  bl_vfs_xTruncate__deps: ['$blCall'],
  bl_vfs_xTruncate: (id, pFile, sizeLo, sizeHi) => blCall(id, 'xTruncate', pFile, sizeLo, sizeHi),
  bl_vfs_xSync__async: true,
  bl_vfs_xSync__deps: ['$blCall'],
  bl_vfs_xSync: (id, pFile, flags) => blCall(id, 'xSync', pFile, flags),
  bl_vfs_xFileSize__async: true,
  bl_vfs_xFileSize__deps: ['$blCall'],
  bl_vfs_xFileSize: (id, pFile, pSize) => blCall(id, 'xFileSize', pFile, pSize),
  bl_vfs_xLock__async: true,
  bl_vfs_xLock__deps: ['$blCall'],
  bl_vfs_xLock: (id, pFile, lockType) => blCall(id, 'xLock', pFile, lockType),
  bl_vfs_xUnlock__async: true,
  bl_vfs_xUnlock__deps: ['$blCall'],
  bl_vfs_xUnlock: (id, pFile, lockType) => blCall(id, 'xUnlock', pFile, lockType),
  bl_vfs_xCheckReservedLock__async: true,
  bl_vfs_xCheckReservedLock__deps: ['$blCall'],
  bl_vfs_xCheckReservedLock: (id, pFile, pResOut) => blCall(id, 'xCheckReservedLock', pFile, pResOut),
  bl_vfs_xFileControl__async: true,
  bl_vfs_xFileControl__deps: ['$blCall'],
  bl_vfs_xFileControl: (id, pFile, op, pArg) => blCall(id, 'xFileControl', pFile, op, pArg),
  bl_vfs_xSectorSize__async: true,
  bl_vfs_xSectorSize__deps: ['$blCall'],
  bl_vfs_xSectorSize: (id, pFile) => blCall(id, 'xSectorSize', pFile),
  bl_vfs_xDeviceCharacteristics__async: true,
  bl_vfs_xDeviceCharacteristics__deps: ['$blCall'],
  bl_vfs_xDeviceCharacteristics: (id, pFile) => blCall(id, 'xDeviceCharacteristics', pFile),
});
