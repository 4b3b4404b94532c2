#!/usr/bin/env python3
"""Rebase OHIF's built viewer (@ohif/app's dist/, built for the root path) to a path prefix.

usage: ohif-rebase.py DIST OUT PREFIX        (PREFIX like /ohif/)

DIST stays as it came from npm; OUT is made again from it (written beside it, then renamed),
with every root-absolute reference to a file of the viewer moved under PREFIX:

- `window.PUBLIC_URL="/"` (index.html), which OHIF prefixes its own URLs with;
- `__webpack_require__.p = "/"`, webpack's public path, in app.bundle and every other bundle
  (workers included), which chunks, workers, wasm and fonts are loaded from;
- any quoted or url(...) path whose first segment is an entry of DIST's top level
  (`"/assets/…"`, `src="/app.bundle….js"`, `url(/….woff2)`, `'/dicom-microscopy-viewer/…'`,
  the service worker's precache list…), in every text file but source maps.

Then it checks that no such reference is left, and drops DIST's app-config.js: hepatrack serve
generates its own. Prints what it changed per file.
"""
import os
import re
import shutil
import sys

TEXT = ('.html', '.js', '.mjs', '.css', '.json', '.jsonc', '.webapp', '.xml', '.txt')


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__.strip().splitlines()[2])
    dist, out, prefix = sys.argv[1:]
    if not (prefix.startswith('/') and prefix.endswith('/') and len(prefix) > 2):
        sys.exit(f'ohif-rebase: the prefix must be like /ohif/ (got {prefix!r})')
    if not os.path.isfile(os.path.join(dist, 'index.html')):
        sys.exit(f'ohif-rebase: {dist} has no index.html: not OHIF\'s dist/')
    pre = prefix.encode()
    tmp = out.rstrip('/') + '.tmp'
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(dist, tmp, symlinks=False)

    top = sorted(os.listdir(dist), key=len, reverse=True)
    names = b'|'.join(re.escape(n.encode()) for n in top)
    # a quote, a backtick or url( then /ENTRY, ENTRY ending the path or followed by / ? # or the
    # closing quote or parenthesis
    absolute = re.compile(rb'''(["'`]|\burl\()/(''' + names + rb''')(?=[/"'`)?#])''')
    public_url = re.compile(rb'''(window\.PUBLIC_URL\s*=\s*)(["'])/\2''')
    webpack_p = re.compile(rb'''(__webpack_require__\.p\s*=\s*)(["'])/\2''')

    totals = {'PUBLIC_URL': 0, 'webpack public path': 0, 'paths': 0}
    for root, _, files in os.walk(tmp):
        for f in sorted(files):
            if not f.endswith(TEXT):
                continue
            path = os.path.join(root, f)
            with open(path, 'rb') as fh:
                text = fh.read()
            text, n_url = public_url.subn(lambda m: m.group(1) + m.group(2) + pre + m.group(2), text)
            text, n_p = webpack_p.subn(lambda m: m.group(1) + m.group(2) + pre + m.group(2), text)
            text, n_abs = absolute.subn(lambda m: m.group(1) + pre + m.group(2), text)
            if n_url or n_p or n_abs:
                with open(path, 'wb') as fh:
                    fh.write(text)
                rel = os.path.relpath(path, tmp)
                print(f'  {rel}: PUBLIC_URL {n_url}, webpack public path {n_p}, paths {n_abs}')
            totals['PUBLIC_URL'] += n_url
            totals['webpack public path'] += n_p
            totals['paths'] += n_abs

    # What must have changed, and what must be left of the root path: nothing.
    problems = []
    if totals['PUBLIC_URL'] == 0:
        problems.append('no window.PUBLIC_URL="/" in index.html')
    if totals['webpack public path'] == 0:
        problems.append('no __webpack_require__.p = "/" in any bundle')
    for root, _, files in os.walk(tmp):
        for f in files:
            if not f.endswith(TEXT):
                continue
            with open(os.path.join(root, f), 'rb') as fh:
                text = fh.read()
            for pattern in (absolute, public_url, webpack_p):
                m = pattern.search(text)
                if m:
                    problems.append(f'{f}: still root-absolute: {m.group(0)[:80]!r}')
    if problems:
        shutil.rmtree(tmp, ignore_errors=True)
        sys.exit('ohif-rebase: ' + '; '.join(problems))
    try:
        os.remove(os.path.join(tmp, 'app-config.js'))
    except FileNotFoundError:
        pass
    shutil.rmtree(out, ignore_errors=True)
    os.rename(tmp, out)
    print(f'ohif-rebase: {out} serves under {prefix}: ' +
          ', '.join(f'{k} {v}' for k, v in totals.items()))


if __name__ == '__main__':
    main()
