#!/usr/bin/env python3
"""Writes docs/guides/<family>/<name>.md for every attack, defense and partition.

Usage: .build/release/poisonlab list --json | python3 docs/guides.py [--check]
With --check nothing is written: the guides that differ from what would be
written are listed and the exit code is 1 (DocsTests runs it).
Each guide takes the definition from the plug-in's `///` doc comment in
Sources/ (the one source of the formula and the paper) and the parameters from
the registry, and adds an example scenario block. DocsTests checks that
every registered attack, defense and partition has its guide.
"""
import json
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FOLDERS = {'attacks': 'Sources/PoisonLab/Attacks', 'defenses': 'Sources/PoisonLab/Defenses',
           'partitions': 'Sources/PoisonLab/Data/Partitions',
           'signals': 'Sources/PoisonLab/Safeguards/Signals',
           'audits': 'Sources/PoisonLab/Audit'}
OUT = {'signals': 'safeguards'}


def plain_links(doc):
    """Renders DocC symbol links (``HDBSCAN``, ``Trigger/split(into:)``) as plain text."""
    return re.sub(r'(?<!`)``([A-Za-z][^`\n]*)``(?!`)', lambda m: m.group(1).replace('/', '.'), doc)


def doc_comments(folder):
    """Maps plug-in names to (file, doc comment) from `name: "..."` inside a documented struct."""
    found = {}
    for file in sorted(os.listdir(os.path.join(ROOT, folder))):
        if not file.endswith('.swift'):
            continue
        text = open(os.path.join(ROOT, folder, file)).read()
        for match in re.finditer(r'((?:^///.*\n)+)(?:public )?struct (\w+)', text, re.M):
            body = text[match.end():]
            name = re.search(r'name: "([a-z0-9_-]+)"', body[:600])
            if name:
                doc = '\n'.join(line[4:] if line.startswith('/// ') else line[3:] for line in match.group(1).splitlines())
                found[name.group(1)] = (os.path.join(folder, file), plain_links(doc.strip()))
    return found


def example(family, plugin):
    """The scenario keys that use the plug-in (merged into a full scenario by DocsTests)."""
    block = {'name': plugin['name']}
    if family == 'attacks' and plugin['role'] == 'channel':
        channel = {'authentication': 'ed25519'}
        if plugin['name'] == 'tamper':
            block.update({'messages': 4, 'transform': 'sign-flip'})
        elif plugin['name'] == 'replay':
            block.update({'messages': 4, 'lag': 5})
        elif plugin['name'] == 'impersonate':
            block.update({'clients': 2, 'update': {'name': 'sign-flip'}})
        else:
            block.update({'identities': 10, 'update': {'name': 'sign-flip'}})
            channel['enrolment'] = 'open'
        return {'federation': {'clients': 20}, 'channel': channel, 'attack': block, 'defense': {'name': 'fedavg'}}
    if family == 'attacks':
        if plugin['name'] == 'label-flip':
            block.update({'source': 1, 'target': 7})
        block['clients'] = 4
        return {'federation': {'clients': 20}, 'attack': block, 'defense': {'name': 'median'}}
    if family == 'defenses' and plugin['role'] == 'sanitizer':
        return {'attack': {'name': 'backdoor', 'fraction': 0.1, 'target': 0}, 'defense': block}
    if family == 'defenses' and plugin['name'] == 'authenticate':
        return {'federation': {'clients': 20}, 'attack': {'name': 'tamper', 'messages': 4},
                'defense': [block, {'name': 'fedavg'}]}
    if family == 'defenses':
        after = 'mean' if plugin['name'] == 'dp' else 'median'
        chain = block if plugin['role'] == 'aggregator' else [block, {'name': after}]
        return {'federation': {'clients': 20}, 'attack': {'name': 'gaussian', 'clients': 4}, 'defense': chain}
    if family == 'audits':
        return {'attack': {'name': 'backdoor', 'fraction': 0.1, 'target': 0}, 'audit': block}
    if family == 'signals':
        monitor = {'signals': [plugin['name']], 'window': 10}
        if plugin['name'] != 'fldetector':  # it decides by its gap statistic
            monitor['threshold'] = 3.5
        guards = {'monitor': monitor}
        if plugin['name'] == 'validation_accuracy':
            guards['validation'] = {'size': 1000, 'max_drop': 0.02}
        # FLDetector's example is the attack it catches (README: ALIE is not caught).
        attack = 'fang' if plugin['name'] == 'fldetector' else 'alie'
        return {'federation': {'clients': 20}, 'attack': {'name': attack, 'clients': 4, 'start_round': 6},
                'defense': {'name': 'fedavg'}, 'safeguards': guards}
    return {'federation': {'clients': 20, 'partition': block}}


# Guides written or extended by hand (definitions with measured results,
# pipeline notes): regenerating would lose their extra text.
HAND_WRITTEN = {
    'attacks': {'backdoor', 'dba', 'label-flip'},
    'defenses': {'provenance', 'roni', 'trusted-only'},
    'audits': {'neural-cleanse'},
    'signals': {'class_accuracy', 'new_data_loss'},
}


def parameter_table(parameters):
    """The rows of a guide's parameter table, from `list --json`."""
    rows = ['| key | type | default | meaning |', '|---|---|---|---|']
    for p in parameters:
        default = 'required' if p['required'] else ('—' if p['default'] is None else '`' + json.dumps(p['default']) + '`')
        rows.append(f"| `{p['key']}` | {p['type'].replace('|', '/')} | {default} | {p['doc'].replace('|', '/')} |")
    return rows


def with_table(text, rows):
    """`text` with the table under its `## Parameters` heading replaced by `rows`."""
    lines = text.split('\n')
    if '## Parameters' not in lines:
        return text
    start = lines.index('## Parameters') + 1
    while start < len(lines) and not lines[start].startswith(('|', '## ')):
        start += 1
    if start == len(lines) or lines[start].startswith('## '):
        # No table (a plug-in without parameters says so in words).
        return text if len(rows) == 2 else None
    end = start
    while end < len(lines) and lines[end].startswith('|'):
        end += 1
    return '\n'.join(lines[:start] + rows + lines[end:])


def main():
    check = '--check' in sys.argv[1:]
    stale = []
    listing = json.load(sys.stdin)
    for family, folder in FOLDERS.items():
        docs = doc_comments(folder)
        out_dir = os.path.join(ROOT, 'docs', 'guides', OUT.get(family, family))
        os.makedirs(out_dir, exist_ok=True)
        for plugin in listing.get(family, []):
            if plugin['name'] in HAND_WRITTEN.get(family, set()):
                # The prose is by hand; the parameter table is the registry's.
                path = os.path.join(out_dir, plugin['name'] + '.md')
                current = open(path).read() if os.path.exists(path) else ''
                text = with_table(current, parameter_table(plugin.get('parameters', [])))
                if text is None:
                    stale.append(os.path.relpath(path, ROOT) + ' (its parameters have no table)')
                    continue
                if check:
                    if current != text:
                        stale.append(os.path.relpath(path, ROOT))
                else:
                    open(path, 'w').write(text)
                continue
            plugin.setdefault('notes', [])
            plugin.setdefault('parameters', [])
            plugin.setdefault('role', None)
            source, doc = docs.get(plugin['name'], (None, ''))
            lines = [f"# `{plugin['name']}`", '', plugin['summary'][0].upper() + plugin['summary'][1:] + '.', '']
            if doc:
                lines += ['## Definition', '', doc, '']
            if plugin['reference']:
                lines += ['## Reference', '', plugin['reference'] + '.', '']
            for note in plugin['notes']:
                lines += [f'Note: {note}.', '']
            if plugin['parameters']:
                lines += ['## Parameters', ''] + parameter_table(plugin['parameters']) + ['']
            snippet = json.dumps(example(family, plugin), indent=2)
            lines += ['## Example', '', 'Add to a scenario (see `scenarios/` for complete files):', '', '```json', snippet, '```', '']
            if source:
                lines += [f'Source: [`{source}`](../../../{source}).', '']
            path = os.path.join(out_dir, plugin['name'] + '.md')
            text = '\n'.join(lines)
            if check:
                current = open(path).read() if os.path.exists(path) else None
                if current != text:
                    stale.append(os.path.relpath(path, ROOT))
            else:
                open(path, 'w').write(text)
    if stale:
        print('stale guides (regenerate with: poisonlab list --json | python3 docs/guides.py):')
        for path in stale:
            print('  ' + path)
        sys.exit(1)


main()
