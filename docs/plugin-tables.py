#!/usr/bin/env python3
"""Regenerates the plug-in tables of docs/scenarios.md from `poisonlab list --json`.

Usage: .build/release/poisonlab list --json | python3 docs/plugin-tables.py docs/scenarios.md [--check]
The tables sit between the markers <!-- plugins:begin --> and <!-- plugins:end -->.
With --check nothing is written: a page whose tables differ from what would
be written exits 1 (DocsTests runs it). Write prose outside the markers.
DocsTests fails when a registered plug-in or key is missing from the page.
"""
import json
import sys


def esc(text):
    return text.replace('|', '\\|')


def rows(params, prefix=''):
    out = []
    for p in params:
        if p['required']:
            default = 'required'
        elif p['default'] is None:
            default = '—'
        else:
            default = '`' + json.dumps(p['default']) + '`'
        out.append(f"| `{prefix}{p['key']}` | {esc(p['type'])} | {default} | {esc(p['doc'])} |")
        out += rows(p.get('keys', []), prefix + p['key'] + '.')
    return out


def section(title, plugins):
    out = [f'### {title}', '']
    for pl in plugins:
        out.append(f"#### `{pl['name']}`")
        out.append('')
        text = pl['summary'][0].upper() + pl['summary'][1:] + '.'
        if pl['reference']:
            text += f" Reference: {pl['reference']}."
        out.append(text)
        out.append('')
        for note in pl['notes']:
            out.append(f'Note: {note}.')
            out.append('')
        if pl['parameters']:
            out.append('| key | type | default | meaning |')
            out.append('|---|---|---|---|')
            out += rows(pl['parameters'])
            out.append('')
    return out


def main():
    listing = json.load(sys.stdin)
    titles = [('datasets', 'Datasets (`dataset`)'), ('models', 'Models (`model`)'),
              ('partitions', 'Partitions (`federation.partition`)'), ('attacks', 'Attacks (`attack`)'),
              ('defenses', 'Defenses (`defense`)'), ('audits', 'Audits (`audit`)')]
    body = []
    for key, title in titles:
        body += section(title, listing[key])
    path = sys.argv[1]
    page = open(path).read()
    begin, end = '<!-- plugins:begin -->', '<!-- plugins:end -->'
    head, rest = page.split(begin)
    _, tail = rest.split(end)
    text = head + begin + '\n\n' + '\n'.join(body) + '\n' + end + tail
    if '--check' in sys.argv[2:]:
        if text != page:
            print(f'{path}: the plug-in tables are stale; regenerate with: '
                  f'poisonlab list --json | python3 docs/plugin-tables.py {path}')
            sys.exit(1)
        return
    open(path, 'w').write(text)


main()
