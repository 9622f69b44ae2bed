// Builds web/dist: copies the page sources (folders such as src/views/
// included) and the MapLibre GL JS files it loads from node_modules. No
// bundling: the page is plain ES modules.
import { cp, mkdir, readdir, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const src = join(here, 'src');
const dist = join(here, 'dist');
const maplibre = join(here, 'node_modules', 'maplibre-gl', 'dist');

// The ES module build loads its worker from `./maplibre-gl-worker.mjs` next to it.
const MAPLIBRE_FILES = ['maplibre-gl.mjs', 'maplibre-gl-worker.mjs', 'maplibre-gl.css'];

async function main() {
  await rm(dist, { recursive: true, force: true });
  await mkdir(dist, { recursive: true });
  for (const name of await readdir(src)) {
    await cp(join(src, name), join(dist, name), { recursive: true });
  }
  for (const name of MAPLIBRE_FILES) {
    try {
      await stat(join(maplibre, name));
    } catch {
      throw new Error(`missing ${join(maplibre, name)}: run \`npm ci\` in web/ first`);
    }
    await cp(join(maplibre, name), join(dist, name));
  }
  const files = (await readdir(dist, { recursive: true, withFileTypes: true })).filter((e) => e.isFile());
  console.log(`web build: ${files.length} files in ${dist}`);
}

main().catch((err) => {
  console.error(err.message);
  process.exit(1);
});
