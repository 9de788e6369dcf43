// --post-js: the Module functions wa-sqlite's sqlite-api.js calls beyond
// the exported C functions.

// JS VFS objects by id; library-bucketlite.js routes each VFS call here.
Module.blVfsObjects = new Map();
let blNextVfsId = 1;

Module.vfs_register = (vfs, makeDefault) => {
  const id = blNextVfsId++;
  const size = Module.lengthBytesUTF8(vfs.name) + 1;
  const zName = Module._sqlite3_malloc(size);
  if (!zName) return 7; // SQLITE_NOMEM
  Module.stringToUTF8(vfs.name, zName, size);
  Module.blVfsObjects.set(id, vfs);
  const rc = Module._bl_vfs_register(id, zName, vfs.mxPathname, makeDefault ? 1 : 0);
  Module._sqlite3_free(zName);
  if (rc !== 0) Module.blVfsObjects.delete(id);
  return rc;
};

// Callbacks into JS (user functions, hooks, authorizer, progress) are not in
// this build: bucketlite's reader uses none of them. Fail loudly if called.
for (const name of ['create_function', 'update_hook', 'commit_hook', 'set_authorizer', 'progress_handler']) {
  Module[name] = () => {
    throw new Error(`${name} is not available in bucketlite's SQLite build`);
  };
}
