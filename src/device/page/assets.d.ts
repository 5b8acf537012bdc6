// Vite's `?url` imports: the emitted file's URL (the page's wasm binaries).
declare module '*?url' {
  const url: string;
  export default url;
}
