/** Vite's `?worker&url` import: the bundled worker's URL. */
declare module '*?worker&url' {
  const url: string;
  export default url;
}
