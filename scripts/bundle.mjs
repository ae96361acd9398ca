// Bundles the command line into dist/bin/ (part of `npm run build`) as CommonJS files:
// - lading.cjs: src/cli/body.ts and everything it loads (~150 modules) in one file. Command groups
//   and heavy modules stay lazy: esbuild wraps each module that is imported dynamically in a
//   function that runs on first use.
// - lading-oras.cjs: the same without the command groups outside the ORAS family (the OCM family,
//   serve, ui) and what only they load: less than half the size, for the commands most runs are.
// - main.js: the `bin` (src/cli/main.ts), small: it answers `--version` itself and otherwise picks
//   a body (src/cli/body-choice.ts) and compiles it through vm.Script with lading's own V8 code
//   cache in the user's cache folder (src/cli/code-cache.ts): V8 then skips parsing and compiling
//   the big file. It is CommonJS (a package.json beside it says so): Node 20 starts a CommonJS entry
//   ~5 ms sooner than an ES module.
// The library (dist/index.js) stays tsc's output. Usage: node scripts/bundle.mjs [outdir]
import { createHash } from 'node:crypto';
import { chmod, cp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
// The sources are ES modules, strict mode: the directive must come first, before esbuild's own
// "use strict" (which follows the banner and would then be a plain expression). import.meta.url
// becomes the file's own URL, made on first use.
const strictBanner = `"use strict";\nvar __ladingMeta = { get url() { return require('node:url').pathToFileURL(__filename).href; } };\n`;

/**
 * The first thing main.js runs: on a Node.js older than package.json's engines (npm only warns
 * about them), one line naming the version needed and exit status 1, where the command line would
 * get part way and fail on the first missing API (`process.getBuiltinModule is not a function`).
 * Plain ES5, so that it parses wherever main.js still does.
 */
function nodeCheck(engines) {
  const m = /^>=\s*(\d+)\.(\d+)\.(\d+)$/.exec(engines);
  if (!m) throw new Error(`bundle: engines.node "${engines}" is not of the form >=X.Y.Z`);
  const [major, minor, patch] = m.slice(1).map(Number);
  return [
    '(function () {',
    "  var v = process.versions.node.split('.').map(Number);",
    `  if (v[0] > ${major} || (v[0] === ${major} && (v[1] > ${minor} || (v[1] === ${minor} && v[2] >= ${patch})))) return;`,
    `  process.stderr.write('Error: lading needs Node.js ${major}.${minor}.${patch} or later; this is Node.js ' + process.version + '\\n');`,
    '  process.exit(1);',
    '})();',
    '',
  ].join('\n');
}

/**
 * commander loads node:child_process (and with it net, dgram, …: ~3 ms at every start) for one
 * thing lading never does, running a subcommand as its own executable. Here it loads on that use.
 */
const lazyChildProcess = {
  name: 'lazy-child-process',
  setup(b) {
    b.onLoad({ filter: /[\\/]commander[\\/]lib[\\/]command\.js$/ }, async (args) => {
      const text = await readFile(args.path, 'utf8');
      const eager = "const childProcess = require('node:child_process');";
      if (!text.includes(eager)) throw new Error(`bundle: ${args.path} no longer loads child_process as expected`);
      const lazy = "const childProcess = { spawn: (...a) => require('node:child_process').spawn(...a) };";
      return { contents: text.replace(eager, lazy), loader: 'js' };
    });
  },
};

/**
 * The yaml package reads `process.env.LOG_TOKENS` for every token it parses and
 * `process.env.LOG_STREAM` for every document token it composes (its authors' debug output): each
 * read is a call into the environment, about a tenth of the time of reading a constructor of
 * thousands of components. Here each is read once, when the module loads (the variables still work).
 */
const yamlEnvOnce = {
  name: 'yaml-env-once',
  setup(b) {
    b.onLoad(
      { filter: /[\\/]yaml[\\/](?:browser[\\/])?dist[\\/](parse[\\/]parser|compose[\\/]composer)\.js$/ },
      async (args) => {
        let text = await readFile(args.path, 'utf8');
        for (const name of ['LOG_TOKENS', 'LOG_STREAM']) {
          const read = `node_process.env.${name}`;
          if (!text.includes(read)) continue;
          text = `${text.replaceAll(read, `__yaml_${name}`)}\nvar __yaml_${name} = node_process.env.${name};\n`;
        }
        if (!text.includes('__yaml_LOG_'))
          throw new Error(`bundle: ${args.path} no longer reads LOG_TOKENS or LOG_STREAM as expected`);
        return { contents: text, loader: 'js' };
      },
    );
  },
};

/**
 * For the small body: the command groups outside the ORAS family (src/cli/body-choice.ts) are left
 * out, and with them every module only they load. main.js never runs the small body with
 * arguments that name them; if it did, the group says so instead of registering nothing.
 */
const orasOnly = {
  name: 'oras-only',
  setup(b) {
    b.onResolve({ filter: /^\.\/commands\/(ocm\/index|serve|ui)\.js$/ }, (args) => ({
      path: args.path,
      namespace: 'left-out',
    }));
    b.onLoad({ filter: /.*/, namespace: 'left-out' }, () => ({
      contents: ['registerOcm', 'registerServe', 'registerUi']
        .map((name) => `export function ${name}() { throw new Error('internal: ${name} is not in this body'); }`)
        .join('\n'),
      loader: 'js',
    }));
  },
};

/** The bodies main.js chooses from (src/cli/body-choice.ts), each built from src/cli/body.ts. */
const bodies = [
  { name: 'full', file: 'lading.cjs', plugins: [] },
  { name: 'oras', file: 'lading-oras.cjs', plugins: [orasOnly] },
];

/**
 * Builds one body into `outfile`, inside the CommonJS module wrapper main.js calls; returns its
 * hash and the source modules in it as esbuild names them (in its module wrappers).
 */
async function buildBody(outfile, plugins, version) {
  const built = await build({
    entryPoints: [join(root, 'src', 'cli', 'body.ts')],
    outfile,
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    // Modules that find files beside themselves (package.json, schemas) or load CommonJS packages
    // at run time (ajv) use import.meta.url: in the body that is the body's own file.
    define: { 'import.meta.url': '__ladingMeta.url', LADING_VERSION: JSON.stringify(version) },
    banner: { js: strictBanner },
    // Without spaces and comments the file is a third smaller: less to read and hash at every
    // start. Names stay, so that a stack trace (--debug) still reads.
    minifyWhitespace: true,
    metafile: true,
    legalComments: 'none',
    logLevel: 'warning',
    // main.js reads the body as Latin-1 (code-cache.ts): non-ASCII text stays escaped.
    charset: 'ascii',
    plugins: [lazyChildProcess, yamlEnvOnce, ...plugins],
  });
  // esbuild keeps `import("node:…")` in CommonJS output, and a script compiled through vm.Script
  // has no dynamic import (ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING): those built-ins are required.
  const helper =
    'var __ladingImport = (id) => Promise.resolve().then(() => { const m = require(id); return Object.assign(Object.create(m), { default: m }); });\n';
  const code = (await readFile(outfile, 'utf8'))
    .replace(strictBanner, strictBanner + helper)
    .replace(/\bimport\(("node:[\w/]+")\)/g, '__ladingImport($1)');
  if (/[^\w.$]import\(/.test(code)) throw new Error(`bundle: an import() is left in ${outfile}`);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the test is for bytes past ASCII
  if (/[^\x00-\x7f]/.test(code)) throw new Error(`bundle: ${outfile} is not ASCII (main.js reads it as Latin-1)`);
  // Written inside the CommonJS module wrapper that main.js calls (code-cache.ts compiles the file
  // as it is: no string to join at every start). The function's first statement is "use strict".
  const wrapped = `(function (exports, require, module, __filename, __dirname) { ${code}\n})`;
  await writeFile(outfile, wrapped);
  return { hash: createHash('sha256').update(wrapped).digest('hex'), modules: Object.keys(built.metafile.inputs) };
}

/**
 * Writes `<outdir>/main.js` (executable), the bodies (`lading.cjs`, `lading-oras.cjs`) and
 * `<outdir>/package.json` from src/cli/. Returns the source modules of the full body and, by file
 * name, of each body, as esbuild names them (in its module wrappers).
 */
export async function bundleCli(outdir) {
  await rm(outdir, { recursive: true, force: true });
  const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8'));
  const ids = {};
  const modulesOf = {};
  for (const { name, file, plugins } of bodies) {
    const { hash, modules } = await buildBody(join(outdir, file), plugins, pkg.version);
    ids[name] = { file: `./${file}`, hash, version: pkg.version };
    modulesOf[file] = modules;
  }
  await build({
    entryPoints: { main: join(root, 'src', 'cli', 'main.ts') },
    outdir,
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    // main.js only: `??=` written out, so that Node 14 and 15 parse it and nodeCheck can name the version needed.
    supported: { 'logical-assignment': false },
    define: {
      LADING_BODIES: JSON.stringify(ids),
      LADING_VERSION: JSON.stringify(pkg.version),
      'import.meta.url': '__ladingMeta.url',
    },
    banner: { js: strictBanner + nodeCheck(pkg.engines.node) },
    // Only for runs from the sources (LADING_BODIES undefined there): the bundle loads a body.
    plugins: [
      {
        name: 'body-external',
        setup(b) {
          b.onResolve({ filter: /^\.\/body\.js$/ }, (args) => ({ path: args.path, external: true }));
        },
      },
    ],
    legalComments: 'none',
    logLevel: 'warning',
  });
  await chmod(join(outdir, 'main.js'), 0o755);
  // No name: lading's own package.json (the one named lading) is found further up.
  const type = { '//': 'main.js is CommonJS: see scripts/bundle.mjs', type: 'commonjs' };
  await writeFile(join(outdir, 'package.json'), `${JSON.stringify(type, null, 2)}\n`);
  return { modules: modulesOf['lading.cjs'], bodies: modulesOf };
}

/**
 * Copies the browser view's static files (HTML, CSS, plain ES modules: no build step of their own)
 * beside tsc's output of src/server/ui/, where the library and the bundled command line find them.
 */
export async function copyUiAssets(outdir) {
  await rm(outdir, { recursive: true, force: true });
  await cp(join(root, 'src', 'server', 'ui', 'assets'), outdir, { recursive: true });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await bundleCli(process.argv[2] ?? join(root, 'dist', 'bin'));
  if (!process.argv[2]) await copyUiAssets(join(root, 'dist', 'server', 'ui', 'assets'));
}
