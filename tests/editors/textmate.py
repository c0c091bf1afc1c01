"""The TextMate grammar (editors/vscode/syntaxes/vg.tmLanguage.json) applied
as a TextMate engine applies it -- at each position the pattern matching
earliest wins, the first listed on a tie; a begin/end region holds its own
patterns -- to every file named on the command line. Every byte of every
comment, string, number and keyword must get a scope of its kind, and no
other name a keyword's, checked against an independent reading of
docs/language.md's lexical rules and the lexer's list of keywords
(grammar/lexer.re). Python's re reads the grammar's regular expressions as
Oniguruma does: they use only classes, groups, alternation, \\b, $ and
fixed-width look-behind. Prints "textmate: N passed, N failed".
Usage: python3 tests/editors/textmate.py FILE..."""
import json
import re
import sys

GRAMMAR = 'editors/vscode/syntaxes/vg.tmLanguage.json'
grammar = json.load(open(GRAMMAR, encoding='utf-8'))
lexer = open('grammar/lexer.re', encoding='utf-8').read()
keywords = re.findall(r'"(\w+)"', re.search(r'lex_keywords\[\] = \{(.*?)\};', lexer, re.S).group(1))

SCOPE_OF = {'import': 'keyword.control.import'}
for k in ('model', 'def', 'settings'):
    SCOPE_OF[k] = 'storage.type'
for k in ('for', 'in', 'if', 'else', 'return'):
    SCOPE_OF[k] = 'keyword.control'
for k in ('true', 'false'):
    SCOPE_OF[k] = 'constant.language.boolean'
for k in ('and', 'or', 'not'):
    SCOPE_OF[k] = 'keyword.operator.logical'
SCOPE_OF['then'] = 'keyword.operator.word'
KEYWORD_SCOPES = ('keyword.', 'storage.', 'constant.language.')


def flatten(patterns):
    """The patterns of a list, includes resolved, in order."""
    out = []
    for p in patterns:
        if 'include' in p:
            out += flatten([grammar['repository'][p['include'][1:]]])
        elif 'match' in p or 'begin' in p:
            out.append(p)
        else:
            out += flatten(p['patterns'])
    return out


def scopes_of_line(line):
    """The scope of each character of a line (the innermost name)."""
    scope = [''] * len(line)

    def paint(a, b, name):
        for i in range(a, b):
            scope[i] = name

    def run(patterns, pos, end_re):
        compiled = [(p, re.compile(p.get('match') or p['begin'])) for p in flatten(patterns)]
        while pos <= len(line):
            best = None
            if end_re is not None:
                m = end_re.search(line, pos)
                if m:
                    best = (m.start(), -1, None, m)
            for i, (p, rx) in enumerate(compiled):
                m = rx.search(line, pos)
                if m and (best is None or m.start() < best[0]):
                    best = (m.start(), i, p, m)
            if best is None:
                return len(line)
            _, _, p, m = best
            if p is None:
                return m.end()
            if 'match' in p:
                if 'name' in p:
                    paint(m.start(), m.end(), p['name'])
                for k, cap in p.get('captures', {}).items():
                    if m.group(int(k)) is not None:
                        paint(m.start(int(k)), m.end(int(k)), cap['name'])
                pos = m.end() if m.end() > m.start() else m.end() + 1
            else:
                stop = run(p.get('patterns', []), m.end(), re.compile(p['end']))
                inner = scope[m.end():stop]
                paint(m.start(), stop, p['name'])
                for i, s in enumerate(inner):  # nested names stay innermost
                    if s:
                        scope[m.end() + i] = s
                pos = stop if stop > m.start() else stop + 1
        return len(line)

    run(grammar['patterns'], 0, None)
    return scope


def tokens(line):
    """The lexical tokens of a line: (kind, first, last, word)."""
    out, i, n = [], 0, len(line)
    while i < n:
        c = line[i]
        if c == '#':
            out.append(('comment', i, n, None))
            break
        if c == '"':
            j = i + 1
            while j < n and line[j] != '"':
                j += 2 if line[j] == '\\' else 1
            out.append(('string', i, min(j + 1, n), None))
            i = j + 1
        elif c.isdigit() or (c == '.' and line[i + 1:i + 2].isdigit()
                             and not (i and re.match(r'[\w.]', line[i - 1]))):
            m = re.compile(r'(\d+(\.\d+)?|\.\d+)([eE][-+]?\d+)?').match(line, i)
            out.append(('number', i, m.end(), None))
            i = m.end()
        elif c.isalpha() or c == '_':
            m = re.compile(r'\w+').match(line, i)
            w = m.group()
            out.append(('keyword' if w in keywords else 'name', i, m.end(), w))
            i = m.end()
        else:
            i += 1
    return out


def ok(kind, word, scope):
    if kind == 'comment':
        return scope.startswith('comment.')
    if kind == 'string':
        return scope.startswith('string.') or scope.startswith('constant.character.escape')
    if kind == 'number':
        return scope.startswith('constant.numeric')
    if kind == 'keyword':
        return scope.startswith(SCOPE_OF.get(word, 'keyword.other'))
    return not scope.startswith(KEYWORD_SCOPES)


passed = failed = 0
if len(keywords) < 20:
    print('only %d keywords read from grammar/lexer.re' % len(keywords))
    failed += 1
for path in sys.argv[1:]:
    problems = []
    checked = 0
    for lnum, line in enumerate(open(path, encoding='utf-8').read().split('\n'), 1):
        scope = scopes_of_line(line)
        for kind, a, b, word in tokens(line):
            checked += kind != 'name'
            for col in range(a, b):
                if not ok(kind, word, scope[col]) and len(problems) < 5:
                    problems.append('%s:%d:%d: %s %r has the scope %r'
                                    % (path, lnum, col + 1, kind, line[a:b], scope[col]))
    if checked == 0:
        problems.append(path + ': no token checked')
    if problems:
        failed += 1
        print('\n'.join(problems))
    else:
        passed += 1
        print('%s: ok (%d tokens)' % (path, checked))
print('textmate: %d passed, %d failed' % (passed, failed))
sys.exit(1 if failed else 0)
