// The browser view of lading: one page, whose path names the view and whose query names the object
// (so every URL is a deep link), over the JSON API beside it. Plain ES modules, no build step.
import { append, block, h, pairs, shortDigest, size, table, text, visible } from './dom.js';

/** The view's root (`/ui/`), from where this module was loaded (`/ui/assets/app.js`). */
const base = new URL('../', import.meta.url);
const main = document.getElementById('main');

// ---------------------------------------------------------------------------------------------
// Links and the API

/** A link inside the view: `view` is a page name, `params` its query (values from stores are fine here). */
function href(view, params = {}) {
  const url = new URL(view, base);
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null) url.searchParams.set(k, String(v));
  return url.pathname + url.search;
}

function link(view, params, ...label) {
  return h('a', { href: href(view, params) }, ...label);
}

function apiUrl(route, params = {}) {
  const url = new URL(`api/${route}`, base);
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null) url.searchParams.set(k, String(v));
  return url.pathname + url.search;
}

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function api(route, params, init) {
  const res = await fetch(apiUrl(route, params), { headers: { accept: 'application/json' }, ...init });
  let body;
  try {
    body = await res.json();
  } catch {
    throw new ApiError(res.status, 'BAD_ANSWER', `the server answered ${res.status} without JSON`);
  }
  if (!res.ok)
    throw new ApiError(res.status, body?.error?.code ?? 'ERROR', body?.error?.message ?? `HTTP ${res.status}`);
  return body;
}

function errorBox(error) {
  return h(
    'div',
    { class: 'error', role: 'alert' },
    h('strong', null, 'Error: '),
    error instanceof ApiError ? `${error.code}: ${error.message}` : String(error?.message ?? error),
  );
}

// ---------------------------------------------------------------------------------------------
// Pieces shared by the views

function crumbs(...items) {
  return h(
    'nav',
    { class: 'crumbs', 'aria-label': 'Breadcrumb' },
    h(
      'ol',
      null,
      items.map((item, i) => h('li', i === items.length - 1 ? { 'aria-current': 'page' } : null, item)),
    ),
  );
}

function digestText(digest) {
  return h('code', { class: 'digest', title: visible(digest) }, digest);
}

/** A button that loads the next page into `list` with `load(last)`, and removes itself on the last page. */
function moreButton(load, next, onPage) {
  if (!next) return null;
  let last = next;
  const button = h('button', { type: 'button', class: 'more' }, 'Show more');
  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      const page = await load(last);
      onPage(page.items);
      if (page.next) {
        last = page.next;
        button.disabled = false;
      } else button.remove();
    } catch (error) {
      button.replaceWith(errorBox(error));
    }
  });
  return button;
}

function annotationsOf(annotations, label = 'Annotations') {
  const entries = Object.entries(annotations ?? {});
  if (entries.length === 0) return null;
  return h('div', { class: 'annotations' }, h('h4', null, label), pairs(label, entries));
}

const Title = 'org.opencontainers.image.title';

function platformText(p) {
  if (!p) return '';
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/') + (p['os.version'] ? ` ${p['os.version']}` : '');
}

const manifestTypes = new Set([
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.artifact.manifest.v1+json',
]);

function openArtifactLink(repository, desc, label = 'Open') {
  return link(
    'artifact',
    { repository, reference: desc.digest, mediaType: desc.mediaType, size: desc.size },
    label,
    h('span', { class: 'visually-hidden' }, ` ${desc.digest}`),
  );
}

function downloadLink(repository, desc, name) {
  return h(
    'a',
    {
      href: apiUrl('blob', { repository, digest: desc.digest, size: desc.size, mediaType: desc.mediaType, name }),
      download: '',
      class: 'download',
    },
    'Download',
    h('span', { class: 'visually-hidden' }, ` ${name ?? desc.digest}`),
  );
}

// ---------------------------------------------------------------------------------------------
// Views

async function home() {
  const [repos, comps] = await Promise.all([
    api('repositories', { n: 100 }),
    api('components', { n: 100 }).catch(() => ({ items: [] })),
  ]);
  const repoList = h('ul', { class: 'names', 'aria-labelledby': 'repositories-h' });
  const addRepos = (items) =>
    append(
      repoList,
      items.map((name) => h('li', null, link('repository', { name }, name))),
    );
  addRepos(repos.items);
  const compList = h('ul', { class: 'names', 'aria-labelledby': 'components-h' });
  const addComps = (items) =>
    append(
      compList,
      items.map((name) => h('li', null, link('component', { name }, name))),
    );
  addComps(comps.items);
  return {
    title: 'Repositories',
    nodes: [
      h('h1', { id: 'repositories-h' }, 'Repositories'),
      repos.items.length === 0 ? h('p', null, 'No repositories (other than those of component versions).') : repoList,
      moreButton((last) => api('repositories', { n: 100, last }), repos.next, addRepos),
      h('h2', { id: 'components-h' }, 'OCM components'),
      comps.items.length === 0 ? h('p', null, 'No component versions.') : compList,
      moreButton((last) => api('components', { n: 100, last }), comps.next, addComps),
    ],
  };
}

async function repositoryView(params) {
  const name = params.get('name');
  if (!name) throw new ApiError(400, 'INVALID_ARGUMENT', 'which repository? (?name=)');
  const page = await api('tags', { repository: name, n: 100 });
  const rows = (items) =>
    items.map((t) => [
      link('artifact', { repository: name, reference: t.tag }, t.tag),
      t.descriptor ? digestText(t.descriptor.digest) : h('span', { class: 'bad' }, 'unreadable: ', t.error ?? ''),
      t.descriptor?.mediaType ?? '',
      t.descriptor ? size(t.descriptor.size) : '',
    ]);
  const tagTable = table(`Tags of ${visible(name)}`, ['Tag', 'Digest', 'Media type', 'Size'], rows(page.items));
  const tbody = tagTable.querySelector('tbody');
  const addRows = (items) =>
    append(
      tbody,
      rows(items).map((r) =>
        h(
          'tr',
          null,
          r.map((c) => h('td', null, c)),
        ),
      ),
    );
  return {
    title: name,
    nodes: [
      crumbs(link('', {}, 'Repositories'), text(name)),
      h('h1', null, 'Repository ', h('span', { class: 'name' }, name)),
      page.items.length === 0 ? h('p', null, 'No tags.') : tagTable,
      moreButton((last) => api('tags', { repository: name, n: 100, last }), page.next, addRows),
    ],
  };
}

const roleLabel = { root: 'root', manifest: 'manifest', config: 'config', layer: 'layer', blob: 'blob' };

function kindOf(desc) {
  if (/index|manifest\.list/.test(desc.mediaType) && manifestTypes.has(desc.mediaType)) return 'index';
  if (manifestTypes.has(desc.mediaType)) return 'manifest';
  return 'blob';
}

/** One node of the graph as a tree item: what it is, its descriptor, and its children below. */
function graphNode(repository, node, isRoot) {
  const d = node.descriptor;
  const kind = kindOf(d);
  const title = d.annotations?.[Title];
  const line = h(
    'div',
    { class: `node node-${kind}` },
    h('span', { class: 'role' }, `[${isRoot ? kind : `${roleLabel[node.role] ?? node.role}`}]`),
    ' ',
    title ? h('strong', { class: 'title' }, title, ' ') : null,
    h('span', { class: 'mediatype' }, d.mediaType),
    ' · ',
    size(d.size),
    node.platform ? [' · ', h('span', { class: 'platform' }, 'platform ', platformText(node.platform))] : null,
    node.artifactType ? [' · ', h('span', null, 'artifact type ', node.artifactType)] : null,
    h('div', { class: 'digest-line' }, digestText(d.digest), ' '),
  );
  const actions = line.querySelector('.digest-line');
  if (kind !== 'blob' && !isRoot) append(actions, [openArtifactLink(repository, d)]);
  if (kind === 'blob') append(actions, [downloadLink(repository, d, title)]);
  if (node.error) append(line, [h('div', { class: 'bad' }, 'Not shown: ', node.error)]);
  const details = [annotationsOf(d.annotations, 'Descriptor annotations')];
  if (!isRoot) details.push(annotationsOf(node.annotations, 'Manifest annotations'));
  const children = node.children?.length
    ? h(
        'ul',
        null,
        node.children.map((c) => graphNode(repository, c, false)),
      )
    : null;
  return h('li', null, line, details, children);
}

function referrerTree(repository, nodes) {
  return h(
    'ul',
    null,
    nodes.map((r) =>
      h(
        'li',
        null,
        h(
          'div',
          { class: 'node node-referrer' },
          h('span', { class: 'role' }, '[referrer]'),
          ' ',
          h('span', { class: 'artifacttype' }, r.desc.artifactType ?? r.desc.mediaType),
          ' · ',
          size(r.desc.size),
          h('div', { class: 'digest-line' }, digestText(r.desc.digest), ' ', openArtifactLink(repository, r.desc)),
        ),
        annotationsOf(r.desc.annotations),
        r.referrers.length ? referrerTree(repository, r.referrers) : null,
      ),
    ),
  );
}

async function artifactView(params) {
  const repository = params.get('repository');
  const reference = params.get('reference');
  if (!repository || !reference)
    throw new ApiError(400, 'INVALID_ARGUMENT', 'which artifact? (?repository=&reference=)');
  const view = await api('artifact', {
    repository,
    reference,
    mediaType: params.get('mediaType'),
    size: params.get('size'),
  });
  const root = view.root;
  const d = root.descriptor;
  const isDigest = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/.test(reference);
  const facts = [
    ['Digest', digestText(d.digest)],
    ['Media type', d.mediaType],
    ['Size', size(d.size)],
  ];
  if (root.artifactType) facts.push(['Artifact type', root.artifactType]);
  if (root.subject)
    facts.push([
      'Subject',
      h('span', null, digestText(root.subject.digest), ' ', openArtifactLink(repository, root.subject, 'Open subject')),
    ]);
  const nodes = [
    crumbs(
      link('', {}, 'Repositories'),
      link('repository', { name: repository }, repository),
      text(isDigest ? shortDigest(reference) : reference),
    ),
    h(
      'h1',
      null,
      'Artifact ',
      h('span', { class: 'name' }, `${visible(repository)}${isDigest ? '@' : ':'}${visible(reference)}`),
    ),
    pairs('Facts', facts, { class: 'facts' }),
    annotationsOf(root.annotations),
    h(
      'section',
      { 'aria-labelledby': 'graph-h' },
      h('h2', { id: 'graph-h' }, 'Graph'),
      h('ul', { class: 'tree', 'aria-labelledby': 'graph-h' }, graphNode(repository, root, true)),
    ),
  ];
  const refs = h(
    'section',
    { 'aria-labelledby': 'referrers-h' },
    h('h2', { id: 'referrers-h' }, `Referrers (${countReferrers(view.referrers)})`),
  );
  if (view.referrersError)
    append(refs, [h('p', { class: 'bad' }, 'Referrers could not be listed: ', view.referrersError)]);
  else if (view.referrers.length === 0)
    append(refs, [h('p', null, 'No signatures, SBOMs or other artifacts refer to this one.')]);
  else {
    const tree = referrerTree(repository, view.referrers);
    tree.classList.add('tree');
    tree.setAttribute('aria-labelledby', 'referrers-h');
    append(refs, [tree]);
  }
  nodes.push(refs);
  if (view.document !== undefined) {
    nodes.push(
      h(
        'details',
        { class: 'raw' },
        h('summary', null, 'Manifest as stored (JSON)'),
        block(view.document, 'Manifest JSON'),
        downloadLink(repository, d, `${d.digest.replace(':', '-')}.json`),
      ),
    );
  }
  return { title: `${repository}:${reference}`, nodes };
}

function countReferrers(list) {
  return list.reduce((n, r) => n + 1 + countReferrers(r.referrers), 0);
}

async function componentsView() {
  const page = await api('components', { n: 100 });
  const list = h('ul', { class: 'names', 'aria-label': 'Components' });
  const add = (items) =>
    append(
      list,
      items.map((name) => h('li', null, link('component', { name }, name))),
    );
  add(page.items);
  return {
    title: 'Components',
    nodes: [
      h('h1', null, 'Components'),
      page.items.length === 0 ? h('p', null, 'No OCM component versions in this store.') : list,
      moreButton((last) => api('components', { n: 100, last }), page.next, add),
    ],
  };
}

async function componentView(params) {
  const name = params.get('name');
  if (!name) throw new ApiError(400, 'INVALID_ARGUMENT', 'which component? (?name=)');
  const { versions } = await api('versions', { component: name });
  return {
    title: name,
    nodes: [
      crumbs(link('components', {}, 'Components'), text(name)),
      h('h1', null, 'Component ', h('span', { class: 'name' }, name)),
      versions.length === 0
        ? h('p', null, 'No versions.')
        : h(
            'ul',
            { class: 'names', 'aria-label': 'Versions' },
            versions.map((v) => h('li', null, link('version', { component: name, version: v }, v))),
          ),
    ],
  };
}

function labelsOf(labels) {
  if (!labels?.length) return null;
  return table(
    'Labels',
    ['Name', 'Value', 'Signed'],
    labels.map((l) => [
      l.name,
      h('code', null, typeof l.value === 'string' ? l.value : JSON.stringify(l.value)),
      l.signing ? 'yes' : 'no',
    ]),
  );
}

function accessText(access) {
  if (!access) return '';
  const rest = Object.entries(access).filter(([k]) => k !== 'type');
  return h(
    'div',
    { class: 'access' },
    h('span', { class: 'type' }, access.type),
    rest.map(([k, v]) => h('div', null, `${k}: `, h('code', null, typeof v === 'string' ? v : JSON.stringify(v)))),
  );
}

function digestSpec(d) {
  if (!d) return 'none';
  return h('span', null, `${d.hashAlgorithm} (${d.normalisationAlgorithm}) `, h('code', { class: 'digest' }, d.value));
}

function identityText(e) {
  const extra = Object.entries(e.extraIdentity ?? {});
  return [
    h('strong', null, e.name),
    extra.length ? h('div', { class: 'extra' }, extra.map(([k, v]) => `${k}=${v}`).join(', ')) : null,
  ];
}

async function versionView(params) {
  const component = params.get('component');
  const version = params.get('version');
  if (!component || !version)
    throw new ApiError(400, 'INVALID_ARGUMENT', 'which component version? (?component=&version=)');
  const view = await api('version', { component, version });
  const c = view.descriptor.component;
  const provider =
    typeof c.provider === 'string' && c.provider.startsWith('{') ? safeParse(c.provider) : { name: c.provider };
  const nodes = [
    crumbs(link('components', {}, 'Components'), link('component', { name: component }, component), text(version)),
    h('h1', null, 'Component version ', h('span', { class: 'name' }, `${visible(component)}:${visible(version)}`)),
    pairs(
      'Facts',
      [
        ['Provider', provider?.name ?? ''],
        ['Created', c.creationTime ?? 'not recorded'],
        [
          'Stored as',
          h(
            'span',
            null,
            link(
              'artifact',
              {
                repository: view.repository,
                reference: view.root.digest,
                mediaType: view.root.mediaType,
                size: view.root.size,
              },
              'OCI artifact',
            ),
            ' ',
            digestText(view.root.digest),
          ),
        ],
      ],
      { class: 'facts' },
    ),
    provider?.labels?.length ? [h('h2', null, 'Provider labels'), labelsOf(provider.labels)] : null,
    c.labels?.length ? [h('h2', null, 'Labels'), labelsOf(c.labels)] : null,
  ];

  const resources = c.resources ?? [];
  nodes.push(h('h2', { id: 'resources-h' }, `Resources (${resources.length})`));
  if (resources.length > 0) {
    nodes.push(
      table(
        'Resources',
        ['Name', 'Version', 'Type', 'Relation', 'Access', 'Digest', 'Content'],
        resources.map((r, i) => {
          const where = view.resourceContent[i];
          let content = 'not in this store';
          if (where?.kind === 'blob') {
            content = h(
              'a',
              { href: apiUrl('resource', { component, version, index: i }), download: '', class: 'download' },
              'Download',
              h('span', { class: 'visually-hidden' }, ` resource ${visible(r.name)}`),
            );
          } else if (where?.kind === 'artifact') {
            content = link('artifact', { repository: where.repository, reference: where.reference }, 'Open artifact');
          }
          return [identityText(r), r.version, r.type, r.relation, accessText(r.access), digestSpec(r.digest), content];
        }),
      ),
    );
  }
  const sources = c.sources ?? [];
  nodes.push(h('h2', null, `Sources (${sources.length})`));
  if (sources.length > 0) {
    nodes.push(
      table(
        'Sources',
        ['Name', 'Version', 'Type', 'Access'],
        sources.map((s) => [identityText(s), s.version, s.type, accessText(s.access)]),
      ),
    );
  }
  const refs = c.componentReferences ?? [];
  nodes.push(h('h2', null, `Component references (${refs.length})`));
  if (refs.length > 0) {
    nodes.push(
      table(
        'Component references',
        ['Name', 'Component version', 'Digest'],
        refs.map((r, i) => [
          identityText(r),
          view.referencePresent[i]
            ? link(
                'version',
                { component: r.componentName, version: r.version },
                `${visible(r.componentName)}:${visible(r.version)}`,
              )
            : h(
                'span',
                null,
                `${visible(r.componentName)}:${visible(r.version)}`,
                h('em', null, ' (not in this store)'),
              ),
          digestSpec(r.digest),
        ]),
      ),
    );
  }
  nodes.push(signaturesSection(view, component, version));
  nodes.push(
    h(
      'details',
      { class: 'raw' },
      h('summary', null, 'Component descriptor (YAML)'),
      block(view.yaml, 'Component descriptor YAML'),
    ),
  );
  // The other versions of this component, to move between them.
  try {
    const { versions } = await api('versions', { component });
    const others = versions.filter((v) => v !== version);
    if (others.length > 0) {
      nodes.push(
        h(
          'nav',
          { 'aria-label': 'Other versions' },
          h('h2', null, 'Other versions'),
          h(
            'ul',
            { class: 'names' },
            others.map((v) => h('li', null, link('version', { component, version: v }, v))),
          ),
        ),
      );
    }
  } catch {
    // listing versions is a convenience
  }
  return { title: `${component}:${version}`, nodes };
}

function safeParse(s) {
  try {
    return JSON.parse(s);
  } catch {
    return { name: s };
  }
}

function signaturesSection(view, component, version) {
  const section = h(
    'section',
    { 'aria-labelledby': 'signatures-h' },
    h('h2', { id: 'signatures-h' }, `Signatures (${view.signatures.length})`),
  );
  if (view.signatures.length === 0) {
    append(section, [h('p', null, 'Not signed.')]);
    return section;
  }
  const status = new Map();
  append(section, [
    table(
      'Signatures',
      ['Name', 'Algorithm', 'Issuer', 'Digest', 'Verification'],
      view.signatures.map((s) => {
        const cell = h('span', { class: 'status' }, view.canVerify ? 'not checked yet' : 'no keys on the server');
        status.set(s.name, cell);
        return [
          h('strong', null, s.name),
          s.algorithm,
          s.issuer ?? 'none (plain signature)',
          digestSpec(s.digest),
          cell,
        ];
      }),
    ),
  ]);
  if (view.canVerify) {
    const live = h('p', { role: 'status', 'aria-live': 'polite', class: 'verify-result' });
    const button = h('button', { type: 'button', id: 'verify' }, 'Verify signatures');
    button.addEventListener('click', async () => {
      button.disabled = true;
      live.textContent = 'Verifying…';
      try {
        const result = await api(
          'verify',
          { component, version },
          { method: 'POST', headers: { accept: 'application/json', 'x-lading-ui': 'verify' } },
        );
        let ok = 0;
        for (const s of result.signatures) {
          const cell = status.get(s.name);
          if (cell) {
            cell.textContent = '';
            append(cell, [
              h('span', { class: s.verified ? 'good' : 'bad' }, s.verified ? '✓ verified' : '✗ FAILED'),
              ': ',
              s.message,
            ]);
          }
          if (s.verified) ok++;
        }
        live.textContent = `${ok} of ${result.signatures.length} signature${result.signatures.length === 1 ? '' : 's'} verified.`;
      } catch (error) {
        live.textContent = '';
        live.append(errorBox(error));
      } finally {
        button.disabled = false;
      }
    });
    append(section, [h('p', null, button, ' with the keys configured on the server.'), live]);
  }
  return section;
}

async function searchView(params) {
  const q = params.get('q') ?? '';
  document.getElementById('q').value = q;
  if (!q.trim())
    return {
      title: 'Search',
      nodes: [h('h1', null, 'Search'), h('p', null, 'Type a repository, tag, component name or digest above.')],
    };
  const r = await api('search', { q });
  const section = (title, items, render) =>
    h(
      'section',
      null,
      h('h2', null, `${title} (${items.length})`),
      items.length
        ? h(
            'ul',
            { class: 'names', 'aria-label': title },
            items.map((x) => h('li', null, render(x))),
          )
        : h('p', null, 'None.'),
    );
  const nodes = [h('h1', null, 'Search results for ', h('q', null, q))];
  if (r.partial) nodes.push(h('p', { class: 'note' }, 'Note: the store is large; only part of it was searched.'));
  if (r.error) nodes.push(h('p', { class: 'bad' }, 'Repositories could not be listed: ', r.error));
  nodes.push(
    section('Repositories', r.repositories, (name) => link('repository', { name }, name)),
    section('Components', r.components, (name) => link('component', { name }, name)),
    section('Tags', r.tags, (t) =>
      link('artifact', { repository: t.repository, reference: t.tag }, `${visible(t.repository)}:${visible(t.tag)}`),
    ),
    section('Digests', r.digests, (d) =>
      h(
        'span',
        null,
        link(
          'artifact',
          { repository: d.repository, reference: d.descriptor.digest },
          `${visible(d.repository)}@${visible(d.descriptor.digest)}`,
        ),
        ` (${d.descriptor.mediaType})`,
      ),
    ),
  );
  if (/^[a-z0-9]+(?:[._/-][a-z0-9]+)*$/.test(q))
    nodes.push(h('p', null, 'Or open the repository named ', link('repository', { name: q }, q), ' directly.'));
  return { title: `Search: ${q}`, nodes };
}

const views = {
  '': home,
  repository: repositoryView,
  artifact: artifactView,
  components: componentsView,
  component: componentView,
  version: versionView,
  search: searchView,
};

// ---------------------------------------------------------------------------------------------
// Routing

let generation = 0;

async function render(focus) {
  const mine = ++generation;
  const path = location.pathname.startsWith(base.pathname) ? location.pathname.slice(base.pathname.length) : '?';
  // An own page only: `constructor` or `toString` is no page of the view.
  const view = Object.hasOwn(views, path) ? views[path] : undefined;
  main.setAttribute('aria-busy', 'true');
  let result;
  try {
    if (!view) throw new ApiError(404, 'NOT_FOUND', `no page "${path}" in this view`);
    result = await view(new URLSearchParams(location.search));
  } catch (error) {
    result = {
      title: 'Error',
      nodes: [
        h('h1', null, 'Could not show this'),
        errorBox(error),
        h('p', null, link('', {}, 'Back to the repositories')),
      ],
    };
  }
  if (mine !== generation) return; // a later navigation won
  main.replaceChildren(...[result.nodes].flat(Infinity).filter(Boolean));
  main.removeAttribute('aria-busy');
  main.dataset.rendered = String(mine);
  document.title = `${visible(result.title)} · lading`;
  for (const a of document.querySelectorAll('nav[aria-label="Sections"] a')) {
    const target = new URL(a.href);
    if (target.pathname === location.pathname) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  if (focus) {
    window.scrollTo(0, 0);
    main.focus({ preventScroll: true });
  }
}

function navigate(url) {
  history.pushState(null, '', url);
  void render(true);
}

document.addEventListener('click', (event) => {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey)
    return;
  const a = event.target instanceof Element ? event.target.closest('a[href]') : null;
  if (!a || a.hasAttribute('download') || a.target) return;
  const url = new URL(a.href);
  if (
    url.origin !== location.origin ||
    !url.pathname.startsWith(base.pathname) ||
    url.pathname.startsWith(`${base.pathname}api/`)
  )
    return;
  if (url.hash && url.pathname === location.pathname && url.search === location.search) return;
  event.preventDefault();
  navigate(url.pathname + url.search);
});

document.getElementById('search-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const q = document.getElementById('q').value.trim();
  if (q) navigate(href('search', { q }));
});

// `/` jumps to the search box (unless typing somewhere already).
document.addEventListener('keydown', (event) => {
  if (event.key !== '/' || event.ctrlKey || event.metaKey || event.altKey) return;
  const t = event.target;
  if (t instanceof HTMLInputElement || t instanceof HTMLTextAreaElement || t?.isContentEditable) return;
  event.preventDefault();
  document.getElementById('q').focus();
});

window.addEventListener('popstate', () => void render(true));

api('info')
  .then((info) => {
    document.getElementById('store').textContent = visible(`[${info.kind}] ${info.display}`);
    if (info.version) document.getElementById('version').textContent = visible(`lading ${info.version}`);
  })
  .catch(() => {});
void render(false);
