/** The WAL file's fixed layout (https://www.sqlite.org/fileformat.html §4.1). */
export const WAL_HEADER_BYTES = 32;
export const WAL_FRAME_HEADER_BYTES = 24;

/** Big-endian magic: 0x377f0682 or 0x377f0683 (checksum byte order). */
export function isWalMagic(magic: number): boolean {
  return magic === 0x377f0682 || magic === 0x377f0683;
}
