#!/usr/bin/env bash
# Builds bucketlite's SQLite for wa-sqlite's JavaScript API, in two wasm
# flavours (Asyncify: Node and browsers without JSPI; JSPI: Chromium), and
# writes them beside this script with the runtime JS they load with.
#
# Toolchain: Debian trixie's emscripten (bookworm's is too old for -sJSPI),
# in a trixie chroot kept outside the repo ($EMSDK_ROOT). Run as root on a
# Debian/Ubuntu host; the first run creates the chroot (a few minutes).
# Inputs come from the npm registry at pinned versions, checked by sha256.
#
#   bash src/sqlite/wasm/build.sh            # build and write the artifacts
#   EMSDK_ROOT=/somewhere bash src/sqlite/wasm/build.sh
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
EMSDK_ROOT="${EMSDK_ROOT:-/var/cache/bucketlite-emsdk}"
CHROOT="$EMSDK_ROOT/trixie"
DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"

# --- pins -------------------------------------------------------------------
EMSCRIPTEN_DEB="3.1.69+dfsg-3"
# SQLite amalgamation 3.53.2 as better-sqlite3 ships it.
BETTER_SQLITE3="better-sqlite3@12.11.1"
SQLITE3_C_SHA256="60d2f39a3726cd6b9021da6f4e868608d66fbb6528a9f513dc8ffcc640493422"
SQLITE3_H_SHA256="9e69a1353a4288450b0d5239ede11fc7f1f4c8e5eb07491fc8317eacb5b7de7e"
SQLITE3EXT_H_SHA256="ac9645e5c9ff0cf176efdd6e75cb5e98f46295d38e02db5c4d208826a39ab4be"
# wa-sqlite's JavaScript API (MIT), as PowerSync's fork publishes it.
WA_SQLITE="@journeyapps/wa-sqlite@2.0.6"
declare -A RUNTIME_SHA256=(
  [src/sqlite-api.js]=a72d45b0d9fc3613c96a286261e2f633291257fa78005fdcaa8a15d4b163776b
  [src/sqlite-constants.js]=f7b570f0c39e4b54c99f2598b6ad42018d4d8bf791861ede20d295628ae49f8f
  [src/FacadeVFS.js]=537a1f34dfda12571c4fa7a0b85346ca9ea16faa953d9ecb190a6dadd0a5acbf
  [src/VFS.js]=55e7455e2ec0000cc4ba7a8bf7882f414a40f2a0ba6eb4c4ac847f379f54d92f
  [LICENSE]=547f9e97e461bd369cc64b6fc12d724e8b02764b8db7812691f29f0ec572be79
  [src/types/index.d.ts]=e9339c261f9f530b2dc05d9fef9fc96bb85752133ae289d7e3d049b1cd6932b1
)
# ext/misc/series.c (public domain), vendored in glue/ from Debian's
# sqlite3_3.53.4.orig.tar.xz (sha256 05366adc8ee80c6b1faa71285b49d133c2121238ca58934b077fdeb95934abd4).
SERIES_C_SHA256="4bba693cfee707d060f4257b5f7e70ba4ac22054a5d42b95409cc056c67f4602"

# --- compile options ----------------------------------------------------------
# The fork's defines, kept as they are, then the modules this build adds.
DEFINES=(
  -DSQLITE_DEFAULT_MEMSTATUS=0 -DSQLITE_DEFAULT_WAL_SYNCHRONOUS=1 -DSQLITE_DQS=0
  -D__WASM__ -DSQLITE_LIKE_DOESNT_MATCH_BLOBS -DSQLITE_MAX_EXPR_DEPTH=0
  -DSQLITE_OMIT_AUTOINIT -DSQLITE_OMIT_DECLTYPE -DSQLITE_OMIT_DEPRECATED
  -DSQLITE_OMIT_SHARED_CACHE -DSQLITE_THREADSAFE=0 -DSQLITE_USE_ALLOCA
  -DSQLITE_ENABLE_BATCH_ATOMIC_WRITE -DSQLITE_ENABLE_FTS5
  -DSQLITE_ENABLE_RTREE -DSQLITE_ENABLE_FTS3 -DSQLITE_ENABLE_FTS3_PARENTHESIS
  -DSQLITE_ENABLE_FTS4 -DSQLITE_ENABLE_DBSTAT_VTAB -DSQLITE_ENABLE_MATH_FUNCTIONS -DSQLITE_ENABLE_GEOPOLY
  -DSQLITE_EXTRA_AUTOEXT=bucketlite_builtin_extensions
)
CFLAGS=(-Oz -flto -Wno-non-literal-null-conversion)
EMFLAGS=(
  -Oz -flto -sALLOW_MEMORY_GROWTH=1 -sWASM=1 -sINVOKE_RUN -sENVIRONMENT=web,worker
  -sSTACK_SIZE=512KB -sWASM_BIGINT=0 -sMODULARIZE=1 -sEXPORT_ES6=1
  -sEXPORTED_RUNTIME_METHODS=ccall,cwrap,getTempRet0,getValue,setValue,lengthBytesUTF8,stringToUTF8,UTF8ToString,HEAP32,HEAPU8
  --js-library glue/library-bucketlite.js --post-js glue/post.js
)
VFS_IMPORTS="bl_vfs_xOpen,bl_vfs_xDelete,bl_vfs_xAccess,bl_vfs_xFullPathname,bl_vfs_xGetLastError,bl_vfs_xClose,bl_vfs_xRead,bl_vfs_xWrite,bl_vfs_xTruncate,bl_vfs_xSync,bl_vfs_xFileSize,bl_vfs_xLock,bl_vfs_xUnlock,bl_vfs_xCheckReservedLock,bl_vfs_xFileControl,bl_vfs_xSectorSize,bl_vfs_xDeviceCharacteristics"
# The exports sqlite-api.js awaits: they may reach the VFS and so suspend.
ASYNC_EXPORTS="sqlite3_close,sqlite3_finalize,sqlite3_open_v2,sqlite3_prepare_v2,sqlite3_prepare_v3,sqlite3_reset,sqlite3_step,sqlite3_exec"
ASYNCIFY_FLAGS=(-sASYNCIFY -sASYNCIFY_IMPORTS="$VFS_IMPORTS" -sASYNCIFY_STACK_SIZE=16384)
JSPI_FLAGS=(-sJSPI -sJSPI_IMPORTS="$VFS_IMPORTS" -sJSPI_EXPORTS="$ASYNC_EXPORTS")

log() { printf '== %s\n' "$*" >&2; }

check_sha256() { # file expected
  local got
  got="$(sha256sum "$1" | cut -d' ' -f1)"
  [[ "$got" == "$2" ]] || { echo "sha256 mismatch for $1: $got (want $2)" >&2; exit 1; }
}

ensure_chroot() {
  if ! chroot "$CHROOT" emcc --version 2>/dev/null | grep -q '3\.1\.69'; then
    log "creating the trixie chroot in $CHROOT"
    command -v debootstrap >/dev/null || apt-get install -y debootstrap
    mkdir -p "$EMSDK_ROOT"
    [[ -x "$CHROOT/usr/bin/apt-get" ]] || debootstrap --variant=minbase trixie "$CHROOT" "$DEBIAN_MIRROR"
    chroot "$CHROOT" apt-get update
    chroot "$CHROOT" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      "emscripten=$EMSCRIPTEN_DEB"
  fi
}

# npm pack into $1 and unpack as $1/<name>/
fetch_npm() { # dir spec name
  (cd "$1" && npm pack "$2" --silent >/dev/null && mkdir -p "$3" && tar xzf ./*"${3}"*.tgz -C "$3" --strip-components=1 && rm -f ./*.tgz)
}

prepare_inputs() { # work dir (inside the chroot)
  local w="$1"
  rm -rf "$w" && mkdir -p "$w/npm" "$w/src" "$w/glue"
  fetch_npm "$w/npm" "$BETTER_SQLITE3" better-sqlite3
  fetch_npm "$w/npm" "$WA_SQLITE" wa-sqlite
  local s="$w/npm/better-sqlite3/deps/sqlite3"
  check_sha256 "$s/sqlite3.c" "$SQLITE3_C_SHA256"
  check_sha256 "$s/sqlite3.h" "$SQLITE3_H_SHA256"
  check_sha256 "$s/sqlite3ext.h" "$SQLITE3EXT_H_SHA256"
  cp "$s"/sqlite3.c "$s"/sqlite3.h "$s"/sqlite3ext.h "$w/src/"
  for f in "${!RUNTIME_SHA256[@]}"; do check_sha256 "$w/npm/wa-sqlite/$f" "${RUNTIME_SHA256[$f]}"; done
  check_sha256 "$HERE/glue/series.c" "$SERIES_C_SHA256"
  cp "$HERE"/glue/*.c "$HERE"/glue/*.js "$w/glue/"
}

exported_functions() {
  # Every C function sqlite-api.js names, plus the glue's entry points.
  { grep -o "'sqlite3_[a-z0-9_]*'" "$1/npm/wa-sqlite/src/sqlite-api.js" | tr -d "'"
    printf '%s\n' sqlite3_malloc sqlite3_free sqlite3_exec sqlite3_prepare_v2 malloc free \
      getSqliteFree RegisterExtensionFunctions bl_vfs_register main
  } | sort -u | sed 's/^/_/' | paste -sd, -
}

build() { # work dir relative to the chroot root
  local w="$1" exports
  exports="$(exported_functions "$CHROOT$w")"
  chroot "$CHROOT" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root bash -euo pipefail -c "
    cd '$w' && mkdir -p obj out
    emcc ${CFLAGS[*]} ${DEFINES[*]} -Isrc -c src/sqlite3.c -o obj/sqlite3.o
    emcc ${CFLAGS[*]} ${DEFINES[*]} -DSQLITE_CORE -Isrc -c glue/series.c -o obj/series.o
    emcc ${CFLAGS[*]} ${DEFINES[*]} -Isrc -c glue/bucketlite-glue.c -o obj/glue.o
    emcc ${EMFLAGS[*]} -sEXPORTED_FUNCTIONS=$exports ${ASYNCIFY_FLAGS[*]} obj/*.o -o out/wa-sqlite-async.mjs
    emcc ${EMFLAGS[*]} -sEXPORTED_FUNCTIONS=$exports ${JSPI_FLAGS[*]} obj/*.o -o out/wa-sqlite-jspi.mjs
  "
}

install_outputs() { # work dir (host path)
  local w="$1"
  cp "$w"/out/wa-sqlite-{async,jspi}.{mjs,wasm} "$HERE/"
  for f in sqlite-api.js sqlite-constants.js FacadeVFS.js VFS.js; do cp "$w/npm/wa-sqlite/src/$f" "$HERE/$f"; done
  cp "$w/npm/wa-sqlite/LICENSE" "$HERE/LICENSE-wa-sqlite"
  write_types "$w/npm/wa-sqlite/src/types/index.d.ts" > "$HERE/wa-sqlite-types.d.ts"
  for f in "$HERE"/wa-sqlite-{async,jspi}.wasm; do
    printf '%s\t%s bytes\t%s gzip -9\n' "$(basename "$f")" "$(stat -c %s "$f")" "$(gzip -9c "$f" | wc -c)"
  done
}

# The fork's API types, renamed to the specifiers this repo imports; its
# declarations of builds and example VFSes this repo does not ship are dropped.
write_types() { # index.d.ts
  echo "// Generated by build.sh from $WA_SQLITE src/types/index.d.ts (MIT, see LICENSE-wa-sqlite)."
  awk '/^declare module "@journeyapps\/wa-sqlite\/dist\//{exit} {print}' "$1" \
    | sed -e 's#"@journeyapps/wa-sqlite/src/sqlite-constants.js"#"\#sqlite-wasm/sqlite-constants.js"#g' \
          -e 's#"@journeyapps/wa-sqlite"#"\#sqlite-wasm/sqlite-api.js"#g' \
    | sed -e '$d'
}

main() {
  [[ $EUID -eq 0 ]] || { echo "build.sh needs root (debootstrap, chroot)" >&2; exit 1; }
  ensure_chroot
  local w=/build/bucketlite-sqlite
  prepare_inputs "$CHROOT$w"
  log "compiling with emscripten $EMSCRIPTEN_DEB"
  build "$w"
  install_outputs "$CHROOT$w"
}

main "$@"
