import { defineConfig } from 'vite';

// The dashboard is one more thin client of the contract: it imports the SDK's sources.
export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  build: {
    outDir: '../dist/dashboard',
    emptyOutDir: true,
    target: 'es2022',
    assetsDir: 'assets',
    sourcemap: false,
    reportCompressedSize: false,
  },
  // The SDK reads process.env only when no options are given; in the browser there is none.
  define: { 'process.env': '{}' },
  // Nor a data dir holding a token: the SDK's lookup of it is left out.
  resolve: { alias: [{ find: /^\.\/token-file\.js$/, replacement: `${import.meta.dirname}/src/no-token-file.ts` }] },
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
});
