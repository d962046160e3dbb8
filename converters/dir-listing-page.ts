// The fixed parts of the HTML directory listing (converters/dir-listing.ts):
// its stylesheet, its icons and its script, all inline so that the page makes
// no request of its own. The icons are SVG symbols defined once and drawn
// with <use>; the script only adds to a page that works without it: arrow
// keys between rows, and uploads with a progress bar per file.

/** Light and dark by `prefers-color-scheme` (Media Queries Level 5 §11.5). */
export const STYLE = `:root{color-scheme:light dark;--fg:#1f2328;--muted:#59636e;--bg:#fff;--stripe:#f6f8fa;--line:#d1d9e0;--link:#0550ae;--focus:#0969da;--hover:#eaeef2;--dir:#9a6700;--err:#cf222e;--ok:#1a7f37}
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--muted:#9198a1;--bg:#0d1117;--stripe:#151b23;--line:#3d444d;--link:#4493f8;--focus:#4493f8;--hover:#212830;--dir:#d29922;--err:#f85149;--ok:#3fb950}}
body{font:15px/1.5 system-ui,sans-serif;margin:2rem auto;max-width:64rem;padding:0 1rem;color:var(--fg);background:var(--bg)}
a{color:var(--link);text-decoration:none}a:hover{text-decoration:underline}
a:focus-visible,button:focus-visible,input:focus-visible{outline:3px solid var(--focus);outline-offset:1px;border-radius:3px}
.crumbs{list-style:none;margin:0;padding:0;display:flex;flex-wrap:wrap;font-size:.9rem;word-break:break-all}
.crumbs li:not(:first-child)::after{content:"/";color:var(--muted);padding:0 .15rem}
.crumbs li:first-child a{padding-right:.15rem}
h1{font-size:1.35rem;font-weight:600;margin:.3rem 0 1rem;word-break:break-all}
table{border-collapse:collapse;width:100%}
caption{caption-side:bottom;text-align:left;color:var(--muted);font-size:.85rem;padding:.5rem .6rem}
th,td{padding:.35rem .6rem;text-align:left;white-space:nowrap}
th{border-bottom:2px solid var(--line);font-weight:600}th a{color:inherit}
th[aria-sort=ascending] a::after{content:" \\25B2"/"";font-size:.7em}
th[aria-sort=descending] a::after{content:" \\25BC"/"";font-size:.7em}
th.size,th.date,td.size,td.date{text-align:right}
td.size,td.date{font-variant-numeric:tabular-nums;color:var(--muted)}
tbody tr:nth-child(even){background:var(--stripe)}
tbody tr:hover,tbody tr:focus-within{background:var(--hover)}
td.name{white-space:normal;word-break:break-all;width:100%}
td.name a{display:inline-block}
tr.dir td.name a{font-weight:600}
svg.icon{width:1.15em;height:1.15em;vertical-align:-.2em;margin-right:.45rem;fill:none;stroke:currentColor;stroke-width:1.6;stroke-linejoin:round;stroke-linecap:round}
tr.dir svg.icon{color:var(--dir)}
form.upload{border:2px dashed var(--line);border-radius:8px;padding:.75rem 1rem;margin:0 0 1rem;display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center}
form.upload label{font-weight:600}
body.dragging form.upload{border-color:var(--focus);background:var(--hover)}
.hint{color:var(--muted);font-size:.9rem}
ul.uploads{list-style:none;padding:0;margin:0 0 1rem}ul.uploads:empty{display:none}
ul.uploads li{display:grid;grid-template-columns:minmax(0,1fr) 14rem 12rem;gap:.75rem;align-items:center;padding:.15rem 0}
ul.uploads .file{word-break:break-all}ul.uploads progress{width:100%}
ul.uploads li.done .state{color:var(--ok)}ul.uploads li.failed .state{color:var(--err)}
.sr{position:absolute;width:1px;height:1px;margin:-1px;overflow:hidden;clip-path:inset(50%);white-space:nowrap}
p.note{color:var(--muted)}
@media (max-width:40rem){td.date,th.date{display:none}ul.uploads li{grid-template-columns:1fr 6rem}ul.uploads .state{grid-column:1/-1}}`;

export type IconType = 'dir' | 'up' | 'text' | 'image' | 'archive' | 'file';

const PAGE = 'M6 3h8l5 5v12a1 1 0 0 1-1 1H6a1 1 0 0 1-1-1V4a1 1 0 0 1 1-1zM14 3v5h5';

/** Drawn in currentColor with the stylesheet's stroke; hidden from screen readers where used. */
export const SYMBOLS = '<svg xmlns="http://www.w3.org/2000/svg" aria-hidden="true" focusable="false" style="position:absolute;width:0;height:0;overflow:hidden">'
  + '<symbol id="i-dir" viewBox="0 0 24 24"><path d="M3 6.5A1.5 1.5 0 0 1 4.5 5h4l2 2.5h9A1.5 1.5 0 0 1 21 9v9.5a1.5 1.5 0 0 1-1.5 1.5h-15A1.5 1.5 0 0 1 3 18.5z"/></symbol>'
  + '<symbol id="i-up" viewBox="0 0 24 24"><path d="M9 13 4 8l5-5M4 8h10.5a5.5 5.5 0 0 1 0 11H10"/></symbol>'
  + `<symbol id="i-text" viewBox="0 0 24 24"><path d="${PAGE}M8.5 12.5h7M8.5 15.5h7M8.5 18.5h4"/></symbol>`
  + '<symbol id="i-image" viewBox="0 0 24 24"><rect x="3" y="4" width="18" height="16" rx="1.5"/><circle cx="8.5" cy="9.5" r="1.5"/><path d="m21 15-5-5-9.5 10"/></symbol>'
  + '<symbol id="i-archive" viewBox="0 0 24 24"><rect x="3" y="4" width="18" height="5" rx="1"/><path d="M5 9v10a1 1 0 0 0 1 1h12a1 1 0 0 0 1-1V9M10 13h4"/></symbol>'
  + `<symbol id="i-file" viewBox="0 0 24 24"><path d="${PAGE}"/></symbol>`
  + '</svg>';

const TEXT = new Set(['txt', 'text', 'md', 'markdown', 'html', 'htm', 'xhtml', 'css', 'js', 'mjs', 'cjs', 'ts', 'tsx', 'jsx', 'json',
  'xml', 'csv', 'tsv', 'yaml', 'yml', 'toml', 'ini', 'conf', 'cfg', 'log', 'rules', 'sh', 'py', 'rb', 'go', 'rs', 'c', 'h', 'cc',
  'cpp', 'hpp', 'java', 'kt', 'php', 'pl', 'sql', 'rst', 'tex', 'srt', 'vtt', 'diff', 'patch']);
const IMAGE = new Set(['png', 'jpg', 'jpeg', 'gif', 'webp', 'avif', 'svg', 'ico', 'bmp', 'tif', 'tiff', 'heic', 'jxl']);
const ARCHIVE = new Set(['zip', 'tar', 'gz', 'tgz', 'bz2', 'tbz2', 'xz', 'txz', 'zst', 'br', '7z', 'rar', 'lz', 'lzma', 'jar',
  'war', 'deb', 'rpm', 'iso', 'dmg', 'apk']);

/** The icon of an entry, by its last suffix (`a.tar.gz` is an archive). */
export function iconOf(name: string, isDirectory: boolean): IconType {
  if (isDirectory) return 'dir';
  const dot = name.lastIndexOf('.');
  if (dot <= 0) return 'file';
  const ext = name.slice(dot + 1).toLowerCase();
  return TEXT.has(ext) ? 'text' : IMAGE.has(ext) ? 'image' : ARCHIVE.has(ext) ? 'archive' : 'file';
}

export function icon(type: IconType): string {
  return `<svg class="icon" aria-hidden="true" focusable="false"><use href="#i-${type}"/></svg>`;
}

/**
 * Arrow keys (and j/k, Home/End) move the focus between the rows' links;
 * Enter opens a focused link as links do. With the upload form: drag and drop
 * anywhere on the page, one request per file so that each has its own
 * <progress> fed by XHR upload events (fetch cannot report upload progress),
 * then the table is fetched again and swapped in (the page stays, with the
 * outcome of each file). Written for the page it is
 * in: no `</` inside, no external resource.
 */
export const SCRIPT = `(() => {
  'use strict';
  const typing = (t) => t instanceof HTMLInputElement || t instanceof HTMLTextAreaElement || t instanceof HTMLSelectElement || (t instanceof HTMLElement && t.isContentEditable);
  document.addEventListener('keydown', (e) => {
    if (e.altKey || e.ctrlKey || e.metaKey || e.shiftKey || typing(e.target)) return;
    const links = Array.from(document.querySelectorAll('#listing tbody td.name a'));
    if (links.length === 0) return;
    const at = links.indexOf(document.activeElement);
    let next;
    switch (e.key) {
      case 'ArrowDown': next = at === -1 ? -1 : at + 1; break;
      case 'ArrowUp': next = at === -1 ? -1 : at - 1; break;
      case 'j': next = at + 1; break;
      case 'k': next = at === -1 ? links.length - 1 : at - 1; break;
      case 'Home': next = at === -1 ? -1 : 0; break;
      case 'End': next = at === -1 ? -1 : links.length - 1; break;
      default: return;
    }
    if (next < 0 && at === -1) return;
    e.preventDefault();
    links[Math.min(links.length - 1, Math.max(0, next))].focus();
  });

  const form = document.getElementById('upload');
  if (!form) return;
  const input = form.querySelector('input[type=file]');
  const button = form.querySelector('button');
  const list = document.getElementById('uploads');
  const status = document.getElementById('upload-status');
  const say = (text) => {
    status.textContent = text;
  };
  document.getElementById('drop-hint').hidden = false;
  let running = 0;

  const send = (file) => new Promise((resolve) => {
    const li = document.createElement('li');
    const name = document.createElement('span');
    name.className = 'file';
    name.textContent = file.name;
    const bar = document.createElement('progress');
    bar.max = Math.max(file.size, 1);
    bar.value = 0;
    bar.setAttribute('aria-label', 'Upload of ' + file.name);
    // The percentage is for the eyes; a screen reader hears the bar's value and the outcome (in #upload-status).
    const state = document.createElement('span');
    state.className = 'state';
    state.textContent = 'waiting';
    li.append(name, bar, state);
    list.append(li);
    const fail = (why) => {
      li.className = 'failed';
      state.textContent = 'failed: ' + why;
      say(file.name + ': ' + state.textContent);
      resolve(false);
    };
    const xhr = new XMLHttpRequest();
    xhr.open('POST', form.action);
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.upload.onprogress = (e) => {
      if (!e.lengthComputable) return;
      bar.max = e.total;
      bar.value = e.loaded;
      state.textContent = Math.floor((100 * e.loaded) / e.total) + '%';
    };
    xhr.onload = () => {
      if (xhr.status !== 201) return fail(xhr.status + ' ' + xhr.statusText);
      let stored = file.name;
      try {
        stored = JSON.parse(xhr.responseText).files[0].name;
      } catch {}
      bar.value = bar.max;
      li.className = 'done';
      state.textContent = stored === file.name ? 'done' : 'stored as ' + stored;
      say(file.name + ': ' + state.textContent);
      resolve(true);
    };
    xhr.onerror = () => fail('connection lost');
    xhr.onabort = () => fail('aborted');
    const data = new FormData();
    data.append('file', file, file.name);
    xhr.send(data);
  });

  const refresh = () => fetch(location.href, { headers: { Accept: 'text/html' }, cache: 'no-store' })
    .then((r) => (r.ok ? r.text() : Promise.reject(new Error('listing ' + r.status))))
    .then((html) => {
      const fresh = new DOMParser().parseFromString(html, 'text/html').getElementById('listing');
      const old = document.getElementById('listing');
      if (fresh === null || old === null) throw new Error('no listing');
      old.replaceWith(document.importNode(fresh, true));
      return true;
    })
    .catch(() => {
      const note = document.createElement('li');
      note.className = 'failed';
      note.textContent = 'The listing could not be refreshed: reload the page to see it.';
      list.append(note);
      say(note.textContent);
      return false;
    });

  const upload = (files) => {
    if (files.length === 0) return;
    running++;
    button.disabled = true;
    Promise.all(files.map(send)).then((stored) => refresh().then((fresh) => {
      const n = stored.filter(Boolean).length;
      if (fresh) say(n + ' of ' + files.length + (files.length === 1 ? ' file' : ' files') + ' uploaded; the listing is updated.');
    })).finally(() => {
      if (--running === 0) button.disabled = false;
      form.dataset.uploaded = String(Number(form.dataset.uploaded || 0) + 1);
    });
  };

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    upload(Array.from(input.files));
    form.reset();
  });
  const carriesFiles = (e) => e.dataTransfer !== null && Array.from(e.dataTransfer.types).includes('Files');
  let depth = 0;
  document.addEventListener('dragenter', (e) => {
    if (!carriesFiles(e)) return;
    depth++;
    document.body.classList.add('dragging');
  });
  document.addEventListener('dragleave', (e) => {
    if (carriesFiles(e) && --depth <= 0) {
      depth = 0;
      document.body.classList.remove('dragging');
    }
  });
  document.addEventListener('dragover', (e) => {
    if (!carriesFiles(e)) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = 'copy';
  });
  document.addEventListener('drop', (e) => {
    if (!carriesFiles(e)) return;
    e.preventDefault();
    depth = 0;
    document.body.classList.remove('dragging');
    upload(Array.from(e.dataTransfer.files));
  });
})();`;
