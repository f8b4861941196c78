import { defineConfig } from 'vite';

/**
 * The browser app (`npm run build:web` → web/dist, served by the local cloud at http://localhost:3001/).
 * Preact through esbuild's own JSX transform: no plugin.
 */
export default defineConfig({
  root: 'web',
  base: '/',
  publicDir: false,
  logLevel: 'warn',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', sourcemap: true, reportCompressedSize: false },
});
