/*
** bucketlite's C side of the wa-sqlite JavaScript API (sqlite-api.js, FacadeVFS.js).
**
** A VFS registered from JavaScript becomes a sqlite3_vfs whose methods call
** the imports bl_vfs_* (library-bucketlite.js); those call the JS object's
** x-methods (FacadeVFS signatures) and may suspend (Asyncify or JSPI) while
** a returned promise settles. Randomness, time and sleep stay in C: they
** never need JS state.
*/
#include <emscripten.h>
#include <emscripten/html5.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include "sqlite3.h"

/* Imports (library-bucketlite.js). 64-bit values travel as two 32-bit halves
** because the builds keep WASM_BIGINT off, as sqlite-api.js expects. */
extern int bl_vfs_xOpen(int id, sqlite3_vfs *pVfs, const char *zName, sqlite3_file *pFile, int flags, int *pOutFlags);
extern int bl_vfs_xDelete(int id, sqlite3_vfs *pVfs, const char *zName, int syncDir);
extern int bl_vfs_xAccess(int id, sqlite3_vfs *pVfs, const char *zName, int flags, int *pResOut);
extern int bl_vfs_xFullPathname(int id, sqlite3_vfs *pVfs, const char *zName, int nOut, char *zOut);
extern int bl_vfs_xGetLastError(int id, sqlite3_vfs *pVfs, int nBuf, char *zBuf);
extern int bl_vfs_xClose(int id, sqlite3_file *pFile);
extern int bl_vfs_xRead(int id, sqlite3_file *pFile, void *pData, int iAmt, int offLo, int offHi);
extern int bl_vfs_xWrite(int id, sqlite3_file *pFile, const void *pData, int iAmt, int offLo, int offHi);
extern int bl_vfs_xTruncate(int id, sqlite3_file *pFile, int sizeLo, int sizeHi);
extern int bl_vfs_xSync(int id, sqlite3_file *pFile, int flags);
extern int bl_vfs_xFileSize(int id, sqlite3_file *pFile, sqlite3_int64 *pSize);
extern int bl_vfs_xLock(int id, sqlite3_file *pFile, int lockType);
extern int bl_vfs_xUnlock(int id, sqlite3_file *pFile, int lockType);
extern int bl_vfs_xCheckReservedLock(int id, sqlite3_file *pFile, int *pResOut);
extern int bl_vfs_xFileControl(int id, sqlite3_file *pFile, int op, void *pArg);
extern int bl_vfs_xSectorSize(int id, sqlite3_file *pFile);
extern int bl_vfs_xDeviceCharacteristics(int id, sqlite3_file *pFile);

/* The JS object's id travels with the VFS and with each file it opens. */
typedef struct BlVfs {
  sqlite3_vfs base;
  int id;
} BlVfs;

typedef struct BlFile {
  sqlite3_file base;
  int id;
} BlFile;

static int fileId(sqlite3_file *f) { return ((BlFile *)f)->id; }
static int vfsId(sqlite3_vfs *v) { return ((BlVfs *)v)->id; }

static int blClose(sqlite3_file *f) { return bl_vfs_xClose(fileId(f), f); }

static int blRead(sqlite3_file *f, void *p, int n, sqlite3_int64 off) {
  return bl_vfs_xRead(fileId(f), f, p, n, (int)(off & 0xffffffff), (int)(off >> 32));
}

static int blWrite(sqlite3_file *f, const void *p, int n, sqlite3_int64 off) {
  return bl_vfs_xWrite(fileId(f), f, p, n, (int)(off & 0xffffffff), (int)(off >> 32));
}

static int blTruncate(sqlite3_file *f, sqlite3_int64 size) {
  return bl_vfs_xTruncate(fileId(f), f, (int)(size & 0xffffffff), (int)(size >> 32));
}

static int blSync(sqlite3_file *f, int flags) { return bl_vfs_xSync(fileId(f), f, flags); }
static int blFileSize(sqlite3_file *f, sqlite3_int64 *p) { return bl_vfs_xFileSize(fileId(f), f, p); }
static int blLock(sqlite3_file *f, int t) { return bl_vfs_xLock(fileId(f), f, t); }
static int blUnlock(sqlite3_file *f, int t) { return bl_vfs_xUnlock(fileId(f), f, t); }
static int blCheckReservedLock(sqlite3_file *f, int *p) { return bl_vfs_xCheckReservedLock(fileId(f), f, p); }
static int blFileControl(sqlite3_file *f, int op, void *p) { return bl_vfs_xFileControl(fileId(f), f, op, p); }
static int blSectorSize(sqlite3_file *f) { return bl_vfs_xSectorSize(fileId(f), f); }
static int blDeviceCharacteristics(sqlite3_file *f) { return bl_vfs_xDeviceCharacteristics(fileId(f), f); }

static const sqlite3_io_methods blIoMethods = {
  1, blClose, blRead, blWrite, blTruncate, blSync, blFileSize, blLock, blUnlock,
  blCheckReservedLock, blFileControl, blSectorSize, blDeviceCharacteristics
};

static int blOpen(sqlite3_vfs *v, const char *zName, sqlite3_file *f, int flags, int *pOutFlags) {
  int outFlags = flags;
  int rc;
  /* SQLite calls xClose only when pMethods is set: set it on success only. */
  f->pMethods = 0;
  ((BlFile *)f)->id = vfsId(v);
  rc = bl_vfs_xOpen(vfsId(v), v, zName, f, flags, &outFlags);
  if (rc == SQLITE_OK) f->pMethods = &blIoMethods;
  if (pOutFlags) *pOutFlags = outFlags;
  return rc;
}

static int blDelete(sqlite3_vfs *v, const char *z, int syncDir) { return bl_vfs_xDelete(vfsId(v), v, z, syncDir); }
static int blAccess(sqlite3_vfs *v, const char *z, int flags, int *p) { return bl_vfs_xAccess(vfsId(v), v, z, flags, p); }
static int blFullPathname(sqlite3_vfs *v, const char *z, int n, char *out) { return bl_vfs_xFullPathname(vfsId(v), v, z, n, out); }

/* No loadable extensions in wasm: the hooks exist so that a stray
** load_extension() fails cleanly instead of calling a null pointer. */
static void *blDlOpen(sqlite3_vfs *v, const char *z) { return 0; }
static void blDlError(sqlite3_vfs *v, int n, char *z) { if (n > 0) z[0] = 0; }
static void (*blDlSym(sqlite3_vfs *v, void *h, const char *z))(void) { return 0; }
static void blDlClose(sqlite3_vfs *v, void *h) {}

static int blRandomness(sqlite3_vfs *v, int n, char *out) {
  /* getentropy() takes at most 256 bytes a call (crypto.getRandomValues). */
  for (int i = 0; i < n; i += 256) getentropy(out + i, n - i < 256 ? n - i : 256);
  return n;
}

/* Never blocks: a read-only reader has no lock to wait for. */
static int blSleep(sqlite3_vfs *v, int micros) { return micros; }

static int blCurrentTimeInt64(sqlite3_vfs *v, sqlite3_int64 *p) {
  /* Julian day number in milliseconds, as SQLite expects. */
  *p = (sqlite3_int64)210866760000000LL + (sqlite3_int64)emscripten_date_now();
  return SQLITE_OK;
}

static int blCurrentTime(sqlite3_vfs *v, double *p) {
  sqlite3_int64 t;
  blCurrentTimeInt64(v, &t);
  *p = t / 86400000.0;
  return SQLITE_OK;
}

static int blGetLastError(sqlite3_vfs *v, int n, char *z) { return bl_vfs_xGetLastError(vfsId(v), v, n, z); }

/* Called by Module.vfs_register (post.js) with the JS object's id. */
int EMSCRIPTEN_KEEPALIVE bl_vfs_register(int id, const char *zName, int mxPathname, int makeDefault) {
  BlVfs *v = (BlVfs *)sqlite3_malloc(sizeof(BlVfs));
  char *name = sqlite3_mprintf("%s", zName);
  if (!v || !name) {
    sqlite3_free(v);
    sqlite3_free(name);
    return SQLITE_NOMEM;
  }
  memset(v, 0, sizeof(*v));
  v->id = id;
  v->base.iVersion = 2;
  v->base.szOsFile = sizeof(BlFile);
  v->base.mxPathname = mxPathname;
  v->base.zName = name;
  v->base.xOpen = blOpen;
  v->base.xDelete = blDelete;
  v->base.xAccess = blAccess;
  v->base.xFullPathname = blFullPathname;
  v->base.xDlOpen = blDlOpen;
  v->base.xDlError = blDlError;
  v->base.xDlSym = blDlSym;
  v->base.xDlClose = blDlClose;
  v->base.xRandomness = blRandomness;
  v->base.xSleep = blSleep;
  v->base.xCurrentTime = blCurrentTime;
  v->base.xGetLastError = blGetLastError;
  v->base.xCurrentTimeInt64 = blCurrentTimeInt64;
  return sqlite3_vfs_register(&v->base, makeDefault);
}

/* sqlite-api.js binds blobs and text with this destructor. */
void *EMSCRIPTEN_KEEPALIVE getSqliteFree(void) { return sqlite3_free; }

/* sqlite-api.js calls this after each open; the functions it once added
** (sqrt, log, ...) come from SQLITE_ENABLE_MATH_FUNCTIONS in this build. */
void EMSCRIPTEN_KEEPALIVE RegisterExtensionFunctions(sqlite3 *db) {}

/* Built-in extensions outside the amalgamation (SQLITE_EXTRA_AUTOEXT):
** every connection gets them as it opens. */
int sqlite3_series_init(sqlite3 *db, char **pzErrMsg, const sqlite3_api_routines *pApi);
int bucketlite_builtin_extensions(sqlite3 *db) { return sqlite3_series_init(db, 0, 0); }

int main(void) {
  /* SQLITE_OMIT_AUTOINIT: initialise once, before any other call. */
  return sqlite3_initialize();
}
