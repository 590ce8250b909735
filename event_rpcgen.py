#!/usr/bin/env python3
"""event_rpcgen.py: turn a libevent .rpc file into C marshalling code.

    event_rpcgen.py NAME.rpc [HEADER [SOURCE]]

writes NAME.gen.h and NAME.gen.c next to NAME.rpc (or to HEADER and
SOURCE), with the names, signatures and struct fields libevent 1.4's
generator wrote, so programs written against 1.4's generated code build
unchanged.  Runs under Python 3.7 and later.

The .rpc file is treated as untrusted input: every problem is reported as
FILE:LINE: message on stderr with exit status 1, and nothing is written
unless both outputs can be written whole.  The generated unmarshalling
code is a parser of network input: it checks every length against the
bytes at hand before allocating, refuses unknown tags, repeated non-array
entries, missing required entries and strings holding NUL bytes, and
bounds how deeply structs may nest.
"""

import os
import re
import sys
import tempfile

# The deepest nesting of structs the generated unmarshal code accepts.
MAX_NESTING = 64
# Tags become enum constants; S_MAX_TAGS (last tag + 1) must fit an int.
MAX_TAG = 0x7FFFFFFE
# A fixed bytes entry is part of its struct; keep structs a sane size.
MAX_FIXED = 1 << 20

C_KEYWORDS = set("""
auto break case char const continue default do double else enum extern
float for goto if inline int long register restrict return short signed
sizeof static struct switch typedef union unsigned void volatile while
_Bool _Complex _Imaginary _Alignas _Alignof _Atomic _Generic _Noreturn
_Static_assert _Thread_local
alignas alignof and and_eq asm bitand bitor bool catch char16_t char32_t
class compl constexpr const_cast decltype delete dynamic_cast explicit
export false friend mutable namespace new noexcept not not_eq nullptr
operator or or_eq private protected public reinterpret_cast static_assert
static_cast template this thread_local throw true try typeid typename
using virtual wchar_t xor xor_eq
""".split())

IDENT_RE = re.compile(r'[A-Za-z_][A-Za-z0-9_]*\Z')


class RpcError(Exception):
    """A problem in the input, at a line."""

    def __init__(self, line, message):
        Exception.__init__(self, message)
        self.line = line
        self.message = message


# ---------------------------------------------------------------------------
# Reading the input

TOKEN_RE = re.compile(r'[A-Za-z_][A-Za-z0-9_]*|0[xX][0-9A-Fa-f]+|[0-9]+|[{}\[\]=;]')


def tokenize(text):
    """Yield (kind, value, line): 'pp' for preprocessor lines, 'word',
    'num' and 'punct' for the rest; comments and blanks are dropped."""
    i, line, n = 0, 1, len(text)
    at_line_start = True
    while i < n:
        c = text[i]
        if c == '\n':
            line += 1
            i += 1
            at_line_start = True
            continue
        if c in ' \t\r\f\v':
            i += 1
            continue
        if text.startswith('/*', i):
            end = text.find('*/', i + 2)
            if end < 0:
                raise RpcError(line, 'unterminated comment')
            line += text.count('\n', i, end)
            i = end + 2
            continue
        if text.startswith('//', i):
            end = text.find('\n', i)
            i = n if end < 0 else end
            continue
        if c == '#':
            if not at_line_start:
                raise RpcError(line, "'#' must start a line")
            end = text.find('\n', i)
            end = n if end < 0 else end
            directive = text[i:end].rstrip()
            # A comment after a directive belongs to the directive's line.
            yield ('pp', directive, line)
            i = end
            continue
        at_line_start = False
        m = TOKEN_RE.match(text, i)
        if m is None:
            raise RpcError(line, 'unexpected character %r' % c)
        tok = m.group(0)
        if tok[0].isdigit():
            yield ('num', tok, line)
        elif tok[0].isalpha() or tok[0] == '_':
            yield ('word', tok, line)
        else:
            yield ('punct', tok, line)
        i = m.end()


def check_ident(name, line, what):
    if not IDENT_RE.match(name):
        raise RpcError(line, '%s %r is not a C identifier' % (what, name))
    if name in C_KEYWORDS:
        raise RpcError(line, '%s %r is a C or C++ keyword' % (what, name))


def parse_number(tok, line, what):
    kind, value, _ = tok
    if kind != 'num':
        raise RpcError(line, 'expected a number for the %s, got %r'
                       % (what, value))
    if value[:2] in ('0x', '0X'):
        return int(value, 16)
    return int(value, 10)


class Entry:
    """One entry of a struct."""

    def __init__(self, struct, name, kind, line):
        self.struct = struct      # the Struct this entry is in
        self.name = name
        self.kind = kind          # int, string, bytes, varbytes, struct
        self.line = line
        self.ref = None           # struct name for kind 'struct'
        self.length = None        # bytes count for kind 'bytes'
        self.optional = False
        self.array = False
        self.tag = None

    @property
    def tag_name(self):
        return ('%s_%s' % (self.struct.name, self.name)).upper()

    @property
    def fn(self):
        return '%s_%s' % (self.struct.name, self.name)


class Struct:
    def __init__(self, name, line):
        self.name = name
        self.line = line
        self.entries = []


class Parser:
    def __init__(self, text):
        self.tokens = list(tokenize(text))
        self.pos = 0
        self.structs = []
        self.c_lines = []         # preprocessor lines for the .c
        self.h_lines = []         # #define lines for the .h

    def peek(self):
        if self.pos < len(self.tokens):
            return self.tokens[self.pos]
        return None

    def next(self, context, line):
        tok = self.peek()
        if tok is None:
            raise RpcError(line, 'unexpected end of file in %s' % context)
        self.pos += 1
        return tok

    def expect(self, value, context, line):
        tok = self.next(context, line)
        if tok[1] != value or tok[0] == 'pp':
            raise RpcError(tok[2], 'expected %r in %s, got %r'
                           % (value, context, tok[1]))
        return tok

    def parse(self):
        while self.peek() is not None:
            kind, value, line = self.next('file', 0)
            if kind == 'pp':
                self.directive(value, line)
            elif kind == 'word' and value == 'struct':
                self.struct(line)
            else:
                raise RpcError(line, "expected 'struct' or a directive, "
                               "got %r" % value)
        self.check()
        return self

    def directive(self, text, line):
        m = re.match(r'#\s*([A-Za-z]+)', text)
        word = m.group(1) if m else ''
        if word == 'define':
            self.h_lines.append(text)
        elif word in ('include', 'if', 'ifdef', 'ifndef', 'elif', 'else',
                      'endif'):
            self.c_lines.append(text)
        else:
            raise RpcError(line, 'unsupported directive %r' % text)

    def struct(self, line):
        kind, name, nline = self.next('struct', line)
        if kind != 'word':
            raise RpcError(nline, 'expected a struct name, got %r' % name)
        check_ident(name, nline, 'struct name')
        s = Struct(name, nline)
        self.expect('{', 'struct %s' % name, nline)
        while True:
            tok = self.peek()
            if tok is None:
                raise RpcError(nline, 'struct %s is not terminated' % name)
            if tok[0] == 'punct' and tok[1] == '}':
                self.pos += 1
                break
            s.entries.append(self.entry(s))
        # 1.4 files sometimes end a struct with "};".
        tok = self.peek()
        if tok is not None and tok[0] == 'punct' and tok[1] == ';':
            self.pos += 1
        self.structs.append(s)

    def entry(self, s):
        context = 'struct %s' % s.name
        kind, word, line = self.next(context, s.line)
        if kind == 'pp':
            raise RpcError(line, 'directive %r inside struct %s'
                           % (word, s.name))
        optional = array = False
        while kind == 'word' and word in ('optional', 'array'):
            if word == 'optional':
                if optional:
                    raise RpcError(line, "'optional' given twice")
                optional = True
            else:
                if array:
                    raise RpcError(line, "'array' given twice")
                array = True
            kind, word, line = self.next(context, line)
        if optional and array:
            raise RpcError(line, "an entry cannot be both 'optional' and "
                           "'array' (arrays may always be empty)")
        if kind != 'word':
            raise RpcError(line, 'expected a type in %s, got %r'
                           % (context, word))
        ref = None
        if word == 'struct':
            self.expect('[', 'the struct type', line)
            k, ref, rline = self.next('the struct type', line)
            if k != 'word':
                raise RpcError(rline, 'expected a struct name, got %r' % ref)
            check_ident(ref, rline, 'struct name')
            self.expect(']', 'the struct type', line)
        elif word not in ('int', 'string', 'bytes'):
            raise RpcError(line, 'unknown type %r (int, string, bytes or '
                           'struct[NAME])' % word)
        k, name, nline = self.next(context, line)
        if k != 'word':
            raise RpcError(nline, 'expected an entry name, got %r' % name)
        check_ident(name, nline, 'entry name')
        e = Entry(s, name, word, line)
        e.ref = ref
        e.optional = optional
        e.array = array
        tok = self.next(context, line)
        if tok[0] == 'punct' and tok[1] == '[':
            if word != 'bytes':
                raise RpcError(line, 'only bytes entries take a length '
                               '(%s %s[...])' % (word, name))
            tok = self.next(context, line)
            if tok[0] == 'punct' and tok[1] == ']':
                raise RpcError(line, 'bytes %s[] is missing its length'
                               % name)
            e.length = parse_number(tok, line, 'length of %s' % name)
            if e.length < 1 or e.length > MAX_FIXED:
                raise RpcError(line, 'length of %s must be 1 to %d'
                               % (name, MAX_FIXED))
            self.expect(']', 'the length of %s' % name, line)
            tok = self.next(context, line)
        elif word == 'bytes':
            e.kind = 'varbytes'
        if e.array and e.kind == 'bytes':
            raise RpcError(line, 'arrays of fixed-length bytes are not '
                           'supported (use bytes without a length)')
        if tok[1] != '=' or tok[0] != 'punct':
            raise RpcError(tok[2], "expected '=' and a tag after %s, got %r"
                           % (name, tok[1]))
        tag = self.next(context, line)
        e.tag = parse_number(tag, tag[2], 'tag of %s' % name)
        if e.tag > MAX_TAG:
            raise RpcError(tag[2], 'tag of %s is larger than 0x%x'
                           % (name, MAX_TAG))
        self.expect(';', context, line)
        return e

    def check(self):
        """Names and tags that parse but cannot work together."""
        structs = {}
        for s in self.structs:
            if s.name in structs:
                raise RpcError(s.line, 'struct %s is already defined at '
                               'line %d' % (s.name, structs[s.name].line))
            structs[s.name] = s
        generated = {}

        def claim(name, line):
            if name in generated:
                raise RpcError(line, 'generated name %s collides with the '
                               'one from line %d' % (name, generated[name]))
            generated[name] = line

        for s in self.structs:
            names, tags, fields = {}, {}, {}
            for fn in ('new', 'free', 'clear', 'marshal', 'unmarshal',
                       'complete'):
                claim('%s_%s' % (s.name, fn), s.line)
            claim('evtag_marshal_' + s.name, s.line)
            claim('evtag_unmarshal_' + s.name, s.line)
            claim((s.name + '_MAX_TAGS').upper(), s.line)
            for e in s.entries:
                if e.name in names:
                    raise RpcError(e.line, 'entry %s of struct %s is already '
                                   'defined at line %d'
                                   % (e.name, s.name, names[e.name]))
                names[e.name] = e.line
                if e.tag in tags:
                    raise RpcError(e.line, 'tag %d of %s is already used by '
                                   '%s' % (e.tag, e.name, tags[e.tag]))
                tags[e.tag] = e.name
                if e.kind == 'struct' and e.ref not in structs:
                    raise RpcError(e.line, 'unknown struct %r' % e.ref)
                claim(e.tag_name, e.line)
                for fn in ('assign', 'get') + (('add',) if e.array else ()):
                    claim('%s_%s' % (e.fn, fn), e.line)
                for f in field_names(e):
                    if f in fields:
                        raise RpcError(e.line, 'field %s of struct %s '
                                       'collides with the one from line %d'
                                       % (f, s.name, fields[f]))
                    fields[f] = e.line


def field_names(e):
    names = [e.name + '_data', e.name + '_set']
    if e.array:
        names += [e.name + '_length', e.name + '_num_allocated']
        if e.kind == 'varbytes':
            names.append(e.name + '_data_length')
    elif e.kind == 'varbytes':
        names.append(e.name + '_length')
    return names


# ---------------------------------------------------------------------------
# The C types of an entry

def elem_type(e):
    """The C type of one value of e (an array's element)."""
    return {'int': 'ev_uint32_t', 'string': 'char *',
            'varbytes': 'ev_uint8_t *', 'bytes': 'ev_uint8_t *',
            'struct': 'struct %s *' % e.ref}[e.kind]


def assign_params(e):
    """The parameters after msg (and the index) of the assign function."""
    return {'int': 'const ev_uint32_t',
            'string': 'const char *',
            'bytes': 'const ev_uint8_t *',
            'varbytes': 'const ev_uint8_t *, ev_uint32_t',
            'struct': ('const struct %s *' % e.ref) if e.array
            else ('const struct %s*' % e.ref)}[e.kind]


def get_params(e):
    return {'int': 'ev_uint32_t *',
            'string': 'char * *',
            'bytes': 'ev_uint8_t **',
            'varbytes': 'ev_uint8_t * *, ev_uint32_t *',
            'struct': ('struct %s * *' % e.ref) if e.array
            else ('struct %s* *' % e.ref)}[e.kind]


def add_return(e):
    return {'int': 'ev_uint32_t *', 'string': 'char * *',
            'varbytes': 'ev_uint8_t * *',
            'struct': 'struct %s * ' % e.ref}[e.kind]


def signatures(e):
    """(return type, name, parameters) of assign, get and add."""
    s = 'struct %s *' % e.struct.name
    idx = ', int' if e.array else ''
    sigs = [('int ', e.fn + '_assign', s + idx + ', ' + assign_params(e)),
            ('int ', e.fn + '_get', s + idx + ', ' + get_params(e))]
    if e.array:
        sigs.append((add_return(e), e.fn + '_add', s))
    return sigs


def fields(e):
    if e.array:
        t = elem_type(e)
        out = ['%s%s*%s_data;' % (t, '' if t.endswith('*') else ' ', e.name)]
        if e.kind == 'varbytes':
            out.append('ev_uint32_t *%s_data_length;' % e.name)
        out += ['int %s_length;' % e.name, 'int %s_num_allocated;' % e.name]
        return [o.replace('* *', '**') for o in out]
    if e.kind == 'int':
        return ['ev_uint32_t %s_data;' % e.name]
    if e.kind == 'string':
        return ['char *%s_data;' % e.name]
    if e.kind == 'bytes':
        return ['ev_uint8_t %s_data[%d];' % (e.name, e.length)]
    if e.kind == 'varbytes':
        return ['ev_uint8_t *%s_data;' % e.name,
                'ev_uint32_t %s_length;' % e.name]
    return ['struct %s* %s_data;' % (e.ref, e.name)]


# ---------------------------------------------------------------------------
# The header

def guard_of(path):
    base = os.path.basename(path)
    return '_' + re.sub(r'[^A-Za-z0-9]', '_', base).upper() + '_'


def gen_header(p, rpc_name, h_path):
    g = guard_of(rpc_name)
    out = ['/*',
           ' * %s: generated from %s by event_rpcgen.py; do not edit.'
           % (os.path.basename(h_path), os.path.basename(rpc_name)),
           ' */',
           '#ifndef %s' % g, '#define %s' % g, '',
           '#include <event-config.h>',
           '#ifdef _EVENT_HAVE_STDINT_H',
           '#include <stdint.h>',
           '#endif',
           '#include <evutil.h>', '',
           '#ifdef __cplusplus', 'extern "C" {', '#endif', '',
           'struct evbuffer;', '',
           '#ifndef EVTAG_HAS',
           '#define EVTAG_HAS(msg, member) ((msg)->member##_set == 1)',
           '#define EVTAG_ASSIGN(msg, member, ...) \\',
           '\t(*(msg)->base->member##_assign)(msg, __VA_ARGS__)',
           '#define EVTAG_GET(msg, member, ...) \\',
           '\t(*(msg)->base->member##_get)(msg, __VA_ARGS__)',
           '#define EVTAG_ADD(msg, member) (*(msg)->base->member##_add)(msg)',
           '#define EVTAG_LEN(msg, member) ((msg)->member##_length)',
           '#endif', '']
    out += p.h_lines
    if p.h_lines:
        out.append('')
    out += ['struct %s;' % s.name for s in p.structs]
    out.append('')
    for s in p.structs:
        out += ['/* struct %s */' % s.name]
        enum = ['%s=%d' % (e.tag_name, e.tag) for e in s.entries]
        enum.append('%s_MAX_TAGS' % s.name.upper())
        out += ['enum %s_ {' % s.name.lower()]
        out += ['  %s,' % x for x in enum[:-1]] + ['  %s' % enum[-1], '};', '']
        out += ['struct %s_access_ {' % s.name]
        for e in s.entries:
            for ret, name, params in signatures(e):
                short = name[len(s.name) + 1:]
                out.append('  %s(*%s)(%s);' % (ret, short, params))
        out += ['};', '']
        out += ['struct %s {' % s.name,
                '  struct %s_access_ *base;' % s.name, '']
        for e in s.entries:
            out += ['  ' + f for f in fields(e)]
        out.append('')
        for e in s.entries:
            out.append('  ev_uint8_t %s_set;' % e.name)
        out += ['};', '']
        n = s.name
        out += ['struct %s *%s_new(void);' % (n, n),
                'void %s_free(struct %s *);' % (n, n),
                'void %s_clear(struct %s *);' % (n, n),
                'void %s_marshal(struct evbuffer *, const struct %s *);'
                % (n, n),
                'int %s_unmarshal(struct %s *, struct evbuffer *);' % (n, n),
                'int %s_complete(struct %s *);' % (n, n),
                'void evtag_marshal_%s(struct evbuffer *, ev_uint32_t,' % n,
                '    const struct %s *);' % n,
                'int evtag_unmarshal_%s(struct evbuffer *, ev_uint32_t,' % n,
                '    struct %s *);' % n]
        for e in s.entries:
            for ret, name, params in signatures(e):
                out.append('%s%s(%s);' % (ret, name, params))
        out += ['/* --- %s done --- */' % n, '']
    out += ['#ifdef __cplusplus', '}', '#endif', '',
            '#endif  /* %s */' % g]
    return '\n'.join(out) + '\n'


# ---------------------------------------------------------------------------
# The source: per entry kind, the code of each function

def C(text, **kw):
    """Dedent a code template and fill it in."""
    lines = text.strip('\n').rstrip().split('\n')
    indent = min(len(l) - len(l.lstrip('\t')) for l in lines if l.strip())
    return '\n'.join(l[indent:] for l in lines) % kw


def entry_functions(e):
    """The assign, get (and add) functions of e."""
    d = dict(S=e.struct.name, n=e.name, fn=e.fn, ref=e.ref or '',
             T=elem_type(e))
    if e.array:
        return array_functions(e, d)
    if e.kind == 'int':
        return C('''
		int
		%(fn)s_assign(struct %(S)s *msg, const ev_uint32_t value)
		{
			msg->%(n)s_set = 1;
			msg->%(n)s_data = value;
			return (0);
		}
		''', **d) + '\n\n' + simple_get(d, 'ev_uint32_t *value',
                                  '*value = msg->%(n)s_data;')
    if e.kind == 'string':
        return C('''
		int
		%(fn)s_assign(struct %(S)s *msg, const char *value)
		{
			char *copy;

			if (value == NULL || (copy = strdup(value)) == NULL)
				return (-1);
			free(msg->%(n)s_data);
			msg->%(n)s_data = copy;
			msg->%(n)s_set = 1;
			return (0);
		}
		''', **d) + '\n\n' + simple_get(d, 'char **value',
                                  '*value = msg->%(n)s_data;')
    if e.kind == 'bytes':
        return C('''
		int
		%(fn)s_assign(struct %(S)s *msg, const ev_uint8_t *value)
		{
			memcpy(msg->%(n)s_data, value, sizeof(msg->%(n)s_data));
			msg->%(n)s_set = 1;
			return (0);
		}
		''', **d) + '\n\n' + simple_get(d, 'ev_uint8_t **value',
                                  '*value = msg->%(n)s_data;')
    if e.kind == 'varbytes':
        return C('''
		int
		%(fn)s_assign(struct %(S)s *msg, const ev_uint8_t *value,
		    ev_uint32_t len)
		{
			ev_uint8_t *copy;

			if ((copy = (ev_uint8_t *)malloc(len > 0 ? len : 1)) == NULL)
				return (-1);
			if (len > 0)
				memcpy(copy, value, len);
			free(msg->%(n)s_data);
			msg->%(n)s_data = copy;
			msg->%(n)s_length = len;
			msg->%(n)s_set = 1;
			return (0);
		}
		''', **d) + '\n\n' + simple_get(
            d, 'ev_uint8_t **value, ev_uint32_t *plen',
            '*value = msg->%(n)s_data;\n\t*plen = msg->%(n)s_length;')
    # A nested struct: assign deep-copies; get creates it if unset (1.4).
    return C('''
		int
		%(fn)s_assign(struct %(S)s *msg, const struct %(ref)s *value)
		{
			struct %(ref)s *copy;

			if ((copy = %(ref)s_copy(value)) == NULL)
				return (-1);
			if (msg->%(n)s_data != NULL)
				%(ref)s_free(msg->%(n)s_data);
			msg->%(n)s_data = copy;
			msg->%(n)s_set = 1;
			return (0);
		}

		int
		%(fn)s_get(struct %(S)s *msg, struct %(ref)s **value)
		{
			if (msg->%(n)s_set != 1) {
				if (msg->%(n)s_data == NULL &&
				    (msg->%(n)s_data = %(ref)s_new()) == NULL)
					return (-1);
				msg->%(n)s_set = 1;
			}
			*value = msg->%(n)s_data;
			return (0);
		}
		''', **d)


def simple_get(d, params, body):
    d = dict(d, params=params, body=body % d)
    return C('''
		int
		%(fn)s_get(struct %(S)s *msg, %(params)s)
		{
			if (msg->%(n)s_set != 1)
				return (-1);
			%(body)s
			return (0);
		}
		''', **d)


def array_functions(e, d):
    kind = e.kind
    d['ptr'] = elem_type(e) + ('*' if elem_type(e).endswith('*') else ' *')
    d['grow_len'] = ''
    if kind == 'varbytes':
        d['grow_len'] = indent(C('''
		lens = (ev_uint32_t *)realloc(msg->%(n)s_data_length,
		    (size_t)n * sizeof(*lens));
		if (lens == NULL)
			goto fail;
		msg->%(n)s_data_length = lens;
		''', **d), 1) + '\n'
    d['lens_decl'] = '\tev_uint32_t *lens;\n' if kind == 'varbytes' else ''
    out = C('''
		/* Room for one more element of %(n)s; -1 on failure. */
		static int
		%(fn)s_expand(struct %(S)s *msg)
		{
			%(ptr)sdata;
		%(lens_decl)s	int n;

			if (msg->%(n)s_length < msg->%(n)s_num_allocated)
				return (0);
			if (msg->%(n)s_num_allocated > INT_MAX / 2 ||
			    (size_t)msg->%(n)s_num_allocated > SIZE_MAX / 2 / sizeof(*data))
				goto fail;
			n = msg->%(n)s_num_allocated > 0 ? 2 * msg->%(n)s_num_allocated : 1;
			data = (%(ptr)s)realloc(msg->%(n)s_data, (size_t)n * sizeof(*data));
			if (data == NULL)
				goto fail;
			msg->%(n)s_data = data;
		%(grow_len)s	msg->%(n)s_num_allocated = n;
			return (0);
		fail:
			event_warnx("%%s: cannot grow %(n)s", __func__);
			return (-1);
		}
		''', **d)
    bounds = ('if (msg->%(n)s_set != 1 || off < 0 || '
              'off >= msg->%(n)s_length)\n\t\treturn (-1);') % d
    d['bounds'] = bounds
    if kind == 'int':
        out += '\n\n' + C('''
		int
		%(fn)s_assign(struct %(S)s *msg, int off, const ev_uint32_t value)
		{
			%(bounds)s
			msg->%(n)s_data[off] = value;
			return (0);
		}

		int
		%(fn)s_get(struct %(S)s *msg, int off, ev_uint32_t *value)
		{
			%(bounds)s
			*value = msg->%(n)s_data[off];
			return (0);
		}

		ev_uint32_t *
		%(fn)s_add(struct %(S)s *msg)
		{
			if (%(fn)s_expand(msg) == -1)
				return (NULL);
			msg->%(n)s_data[msg->%(n)s_length] = 0;
			msg->%(n)s_set = 1;
			return (&msg->%(n)s_data[msg->%(n)s_length++]);
		}
		''', **d)
    elif kind == 'string':
        out += '\n\n' + C('''
		int
		%(fn)s_assign(struct %(S)s *msg, int off, const char *value)
		{
			char *copy;

			%(bounds)s
			if (value == NULL || (copy = strdup(value)) == NULL)
				return (-1);
			free(msg->%(n)s_data[off]);
			msg->%(n)s_data[off] = copy;
			return (0);
		}

		int
		%(fn)s_get(struct %(S)s *msg, int off, char **value)
		{
			%(bounds)s
			*value = msg->%(n)s_data[off];
			return (0);
		}

		/* A new empty string, owned by msg; set it with _assign. */
		char **
		%(fn)s_add(struct %(S)s *msg)
		{
			char *s;

			if (%(fn)s_expand(msg) == -1 || (s = strdup("")) == NULL)
				return (NULL);
			msg->%(n)s_data[msg->%(n)s_length] = s;
			msg->%(n)s_set = 1;
			return (&msg->%(n)s_data[msg->%(n)s_length++]);
		}
		''', **d)
    elif kind == 'varbytes':
        out += '\n\n' + C('''
		int
		%(fn)s_assign(struct %(S)s *msg, int off, const ev_uint8_t *value,
		    ev_uint32_t len)
		{
			ev_uint8_t *copy;

			%(bounds)s
			if ((copy = (ev_uint8_t *)malloc(len > 0 ? len : 1)) == NULL)
				return (-1);
			if (len > 0)
				memcpy(copy, value, len);
			free(msg->%(n)s_data[off]);
			msg->%(n)s_data[off] = copy;
			msg->%(n)s_data_length[off] = len;
			return (0);
		}

		int
		%(fn)s_get(struct %(S)s *msg, int off, ev_uint8_t **value,
		    ev_uint32_t *plen)
		{
			%(bounds)s
			*value = msg->%(n)s_data[off];
			*plen = msg->%(n)s_data_length[off];
			return (0);
		}

		/* A new empty element, owned by msg; set it with _assign. */
		ev_uint8_t **
		%(fn)s_add(struct %(S)s *msg)
		{
			if (%(fn)s_expand(msg) == -1)
				return (NULL);
			msg->%(n)s_data[msg->%(n)s_length] = NULL;
			msg->%(n)s_data_length[msg->%(n)s_length] = 0;
			msg->%(n)s_set = 1;
			return (&msg->%(n)s_data[msg->%(n)s_length++]);
		}
		''', **d)
    else:
        out += '\n\n' + C('''
		int
		%(fn)s_assign(struct %(S)s *msg, int off,
		    const struct %(ref)s *value)
		{
			struct %(ref)s *copy;

			%(bounds)s
			if ((copy = %(ref)s_copy(value)) == NULL)
				return (-1);
			%(ref)s_free(msg->%(n)s_data[off]);
			msg->%(n)s_data[off] = copy;
			return (0);
		}

		int
		%(fn)s_get(struct %(S)s *msg, int off, struct %(ref)s **value)
		{
			%(bounds)s
			*value = msg->%(n)s_data[off];
			return (0);
		}

		/* A new element, owned by msg. */
		struct %(ref)s *
		%(fn)s_add(struct %(S)s *msg)
		{
			struct %(ref)s *elem;

			if (%(fn)s_expand(msg) == -1 || (elem = %(ref)s_new()) == NULL)
				return (NULL);
			msg->%(n)s_data[msg->%(n)s_length++] = elem;
			msg->%(n)s_set = 1;
			return (elem);
		}
		''', **d)
    return out


def clear_code(e):
    """Statements that free what e owns and reset it (in msg)."""
    d = dict(n=e.name, ref=e.ref or '')
    if e.array:
        free_elem = {'int': None, 'string': 'free(msg->%(n)s_data[i]);',
                     'varbytes': 'free(msg->%(n)s_data[i]);',
                     'struct': '%(ref)s_free(msg->%(n)s_data[i]);'}[e.kind]
        out = ''
        if free_elem:
            out += C('''
			for (i = 0; i < msg->%(n)s_length; ++i)
				%(free)s
			''', n=e.name, free=free_elem % d) + '\n'
        out += 'free(msg->%(n)s_data);\nmsg->%(n)s_data = NULL;\n' % d
        if e.kind == 'varbytes':
            out += ('free(msg->%(n)s_data_length);\n'
                    'msg->%(n)s_data_length = NULL;\n') % d
        out += ('msg->%(n)s_length = 0;\nmsg->%(n)s_num_allocated = 0;\n'
                % d)
    elif e.kind == 'int':
        out = 'msg->%(n)s_data = 0;\n' % d
    elif e.kind == 'bytes':
        out = 'memset(msg->%(n)s_data, 0, sizeof(msg->%(n)s_data));\n' % d
    elif e.kind in ('string', 'varbytes'):
        out = 'free(msg->%(n)s_data);\nmsg->%(n)s_data = NULL;\n' % d
        if e.kind == 'varbytes':
            out += 'msg->%(n)s_length = 0;\n' % d
    else:
        out = C('''
		if (msg->%(n)s_data != NULL)
			%(ref)s_free(msg->%(n)s_data);
		msg->%(n)s_data = NULL;
		''', **d) + '\n'
    return out + 'msg->%(n)s_set = 0;\n' % d


def marshal_one(e, value, length=None):
    if e.kind == 'int':
        return 'evtag_marshal_int(evbuf, %s, %s);' % (e.tag_name, value)
    if e.kind == 'string':
        return 'evtag_marshal_string(evbuf, %s, %s);' % (e.tag_name, value)
    if e.kind == 'bytes':
        return 'evtag_marshal(evbuf, %s, %s, sizeof(%s));' % (
            e.tag_name, value, value)
    if e.kind == 'varbytes':
        return 'evtag_marshal(evbuf, %s, %s, %s);' % (e.tag_name, value,
                                                       length)
    return 'evtag_marshal_%s(evbuf, %s, %s);' % (e.ref, e.tag_name, value)


def marshal_code(e):
    n = e.name
    if e.array:
        length = ('msg->%s_data_length[i]' % n if e.kind == 'varbytes'
                  else None)
        return C('''
		for (i = 0; i < msg->%(n)s_length; ++i)
			%(one)s
		''', n=n, one=marshal_one(e, 'msg->%s_data[i]' % n, length)) + '\n'
    return C('''
		if (msg->%(n)s_set)
			%(one)s
		''', n=n, one=marshal_one(e, 'msg->%s_data' % n,
                                    'msg->%s_length' % n)) + '\n'


def unmarshal_case(e):
    """The body of the switch case for e's tag; returns -1 on bad input."""
    d = dict(n=e.name, tag=e.tag_name, ref=e.ref or '', fn=e.fn,
             S=e.struct.name)
    if e.array:
        if e.kind == 'int':
            body = C('''
			{
				ev_uint32_t v;

				if (evtag_unmarshal_int(evbuf, %(tag)s, &v) == -1 ||
				    %(fn)s_expand(msg) == -1)
					goto bad;
				msg->%(n)s_data[msg->%(n)s_length++] = v;
			}
			''', **d)
        elif e.kind == 'string':
            body = C('''
			{
				char *v = NULL;

				if (evtag_unmarshal_string(evbuf, %(tag)s, &v) == -1)
					goto bad;
				if (%(fn)s_expand(msg) == -1) {
					free(v);
					goto bad;
				}
				msg->%(n)s_data[msg->%(n)s_length++] = v;
			}
			''', **d)
        elif e.kind == 'varbytes':
            body = C('''
			{
				ev_uint8_t *v;
				ev_uint32_t len;

				if ((v = unmarshal_bytes(evbuf, %(tag)s, &len)) == NULL ||
				    %(fn)s_expand(msg) == -1) {
					free(v);
					goto bad;
				}
				msg->%(n)s_data[msg->%(n)s_length] = v;
				msg->%(n)s_data_length[msg->%(n)s_length++] = len;
			}
			''', **d)
        else:
            body = C('''
			{
				struct %(ref)s *v;

				if (%(fn)s_expand(msg) == -1 ||
				    (v = %(ref)s_new()) == NULL)
					goto bad;
				if (evtag_unmarshal_%(ref)s_at(evbuf, %(tag)s, v,
				    depth + 1) == -1) {
					%(ref)s_free(v);
					goto bad;
				}
				msg->%(n)s_data[msg->%(n)s_length++] = v;
			}
			''', **d)
        return body + '\nmsg->%(n)s_set = 1;\nbreak;' % d
    head = C('''
		if (msg->%(n)s_set) {
			event_warnx("%%s: %(n)s given twice", __func__);
			goto bad;
		}
		''', **d) + '\n'
    if e.kind == 'int':
        body = C('''
		if (evtag_unmarshal_int(evbuf, %(tag)s, &msg->%(n)s_data) == -1)
			goto bad;
		''', **d)
    elif e.kind == 'string':
        body = C('''
		if (evtag_unmarshal_string(evbuf, %(tag)s, &msg->%(n)s_data) == -1)
			goto bad;
		''', **d)
    elif e.kind == 'bytes':
        body = C('''
		if (evtag_unmarshal_fixed(evbuf, %(tag)s, msg->%(n)s_data,
		    sizeof(msg->%(n)s_data)) == -1)
			goto bad;
		''', **d)
    elif e.kind == 'varbytes':
        body = C('''
		free(msg->%(n)s_data);
		if ((msg->%(n)s_data = unmarshal_bytes(evbuf, %(tag)s,
		    &msg->%(n)s_length)) == NULL)
			goto bad;
		''', **d)
    else:
        body = C('''
		if (msg->%(n)s_data != NULL)
			%(ref)s_clear(msg->%(n)s_data);
		else if ((msg->%(n)s_data = %(ref)s_new()) == NULL)
			goto bad;
		if (evtag_unmarshal_%(ref)s_at(evbuf, %(tag)s, msg->%(n)s_data,
		    depth + 1) == -1)
			goto bad;
		''', **d)
    return head + body + '\nmsg->%(n)s_set = 1;\nbreak;' % d


def indent(text, n):
    return '\n'.join(('\t' * n + l) if l.strip() else ''
                     for l in text.rstrip('\n').split('\n'))


def struct_functions(s):
    n = s.name
    d = dict(S=n)
    has_loop = any(e.array and e.kind != 'int' for e in s.entries)
    has_marshal_loop = any(e.array for e in s.entries)
    table = []
    for e in s.entries:
        table += [name for _, name, _ in signatures(e)]
    out = []
    out.append('static struct %s_access_ __%s_base = {\n%s\n};'
               % (n, n, ',\n'.join('\t' + t for t in table) or '\t0'))
    if not table:
        out[-1] = 'static struct %s_access_ __%s_base;' % (n, n)
    out.append(C('''
		struct %(S)s *
		%(S)s_new(void)
		{
			struct %(S)s *msg;

			if ((msg = (struct %(S)s *)calloc(1, sizeof(*msg))) == NULL) {
				event_warn("%%s: calloc", __func__);
				return (NULL);
			}
			msg->base = &__%(S)s_base;
			return (msg);
		}
		''', **d))
    # A deep copy through the wire format, for the assign functions.
    out.append(C('''
		static struct %(S)s *
		%(S)s_copy(const struct %(S)s *value)
		{
			struct evbuffer *buf;
			struct %(S)s *copy;

			if (value == NULL || (copy = %(S)s_new()) == NULL)
				return (NULL);
			if ((buf = evbuffer_new()) == NULL) {
				%(S)s_free(copy);
				return (NULL);
			}
			%(S)s_marshal(buf, value);
			if (%(S)s_unmarshal(copy, buf) == -1) {
				%(S)s_free(copy);
				copy = NULL;
			}
			evbuffer_free(buf);
			return (copy);
		}
		''', **d))
    for e in s.entries:
        out.append(entry_functions(e))
    clear = ''.join(clear_code(e) for e in s.entries)
    out.append('void\n%s_clear(struct %s *msg)\n{\n%s%s}'
               % (n, n, '\tint i;\n\n' if has_loop else '',
                  indent(clear, 1) + '\n' if clear else '\t(void)msg;\n'))
    out.append(C('''
		void
		%(S)s_free(struct %(S)s *msg)
		{
			if (msg == NULL)
				return;
			%(S)s_clear(msg);
			free(msg);
		}
		''', **d))
    marshal = ''.join(marshal_code(e) for e in s.entries)
    out.append('void\n%s_marshal(struct evbuffer *evbuf, const struct %s *msg)'
               '\n{\n%s%s}' % (n, n, '\tint i;\n\n' if has_marshal_loop
                               else '', indent(marshal, 1) + '\n' if marshal
                               else '\t(void)evbuf;\n\t(void)msg;\n'))
    cases = ''
    for e in s.entries:
        cases += '\t\tcase %s:\n%s\n' % (e.tag_name,
                                            indent(unmarshal_case(e), 3))
    out.append(C('''
		static int
		%(S)s_unmarshal_at(struct %(S)s *msg, struct evbuffer *evbuf, int depth)
		{
			ev_uint32_t tag = 0;

			(void)depth;
			while (EVBUFFER_LENGTH(evbuf) > 0) {
				if (evtag_peek(evbuf, &tag) == -1)
					goto bad;
				switch (tag) {
		%(cases)s
				default:
					event_warnx("%%s: unknown tag %%u", __func__,
					    (unsigned)tag);
					goto bad;
				}
			}
			if (%(S)s_complete(msg) == -1) {
				event_warnx("%%s: a required entry is missing", __func__);
				return (-1);
			}
			return (0);
		bad:
			event_warnx("%%s: bad entry with tag %%u", __func__, (unsigned)tag);
			return (-1);
		}
		''', S=n, cases=cases.rstrip('\n')))
    out.append(C('''
		int
		%(S)s_unmarshal(struct %(S)s *msg, struct evbuffer *evbuf)
		{
			return (%(S)s_unmarshal_at(msg, evbuf, 0));
		}
		''', **d))
    complete = ''
    for e in s.entries:
        if not e.optional and not e.array:
            complete += 'if (!msg->%s_set)\n\treturn (-1);\n' % e.name
        if e.kind == 'struct' and e.array:
            complete += C('''
			for (i = 0; i < msg->%(n)s_length; ++i)
				if (%(ref)s_complete(msg->%(n)s_data[i]) == -1)
					return (-1);
			''', n=e.name, ref=e.ref) + '\n'
        elif e.kind == 'struct':
            complete += C('''
			if (msg->%(n)s_set && %(ref)s_complete(msg->%(n)s_data) == -1)
				return (-1);
			''', n=e.name, ref=e.ref) + '\n'
    has_complete_loop = any(e.array and e.kind == 'struct' for e in s.entries)
    out.append('int\n%s_complete(struct %s *msg)\n{\n%s%s\treturn (0);\n}'
               % (n, n, '\tint i;\n\n' if has_complete_loop else '',
                  indent(complete, 1) + '\n' if complete
                  else '\t(void)msg;\n'))
    out.append(C('''
		static int
		evtag_unmarshal_%(S)s_at(struct evbuffer *evbuf, ev_uint32_t need_tag,
		    struct %(S)s *msg, int depth)
		{
			struct evbuffer *tmp;
			ev_uint32_t tag;
			int res = -1;

			if (depth > EVRPCGEN_MAX_NESTING) {
				event_warnx("%%s: structs nested too deeply", __func__);
				return (-1);
			}
			if ((tmp = evbuffer_new()) == NULL)
				return (-1);
			if (evtag_unmarshal(evbuf, &tag, tmp) != -1 && tag == need_tag &&
			    %(S)s_unmarshal_at(msg, tmp, depth) != -1)
				res = 0;
			evbuffer_free(tmp);
			return (res);
		}

		int
		evtag_unmarshal_%(S)s(struct evbuffer *evbuf, ev_uint32_t need_tag,
		    struct %(S)s *msg)
		{
			return (evtag_unmarshal_%(S)s_at(evbuf, need_tag, msg, 0));
		}

		void
		evtag_marshal_%(S)s(struct evbuffer *evbuf, ev_uint32_t tag,
		    const struct %(S)s *msg)
		{
			struct evbuffer *buf;

			if ((buf = evbuffer_new()) == NULL) {
				event_warn("%%s: evbuffer_new", __func__);
				return;
			}
			%(S)s_marshal(buf, msg);
			evtag_marshal(evbuf, tag, EVBUFFER_DATA(buf),
			    (ev_uint32_t)EVBUFFER_LENGTH(buf));
			evbuffer_free(buf);
		}
		''', **d))
    return '\n\n'.join(out) + '\n'


UNMARSHAL_BYTES = '''
/*
 * Unmarshal a bytes record with tag need_tag into a new buffer (its length
 * in *plen); NULL on bad input.  The length is checked against the bytes
 * at hand before anything is allocated.
 */
static ev_uint8_t *
unmarshal_bytes(struct evbuffer *evbuf, ev_uint32_t need_tag,
    ev_uint32_t *plen)
{
	ev_uint8_t *data;
	ev_uint32_t len;

	if (evtag_payload_length(evbuf, &len) == -1 ||
	    len > EVBUFFER_LENGTH(evbuf))
		return (NULL);
	if ((data = (ev_uint8_t *)malloc(len > 0 ? len : 1)) == NULL) {
		event_warn("%s: malloc", __func__);
		return (NULL);
	}
	if (evtag_unmarshal_fixed(evbuf, need_tag, data, len) == -1) {
		free(data);
		return (NULL);
	}
	*plen = len;
	return (data);
}
'''


def gen_source(p, rpc_name, h_path, c_path):
    out = ['/*',
           ' * %s: generated from %s by event_rpcgen.py; do not edit.'
           % (os.path.basename(c_path), os.path.basename(rpc_name)),
           ' */',
           '#include <event-config.h>',
           '#include <sys/types.h>',
           '#ifdef _EVENT_HAVE_SYS_TIME_H',
           '#include <sys/time.h>',
           '#endif',
           '#include <limits.h>',
           '#include <stdint.h>',
           '#include <stdlib.h>',
           '#include <string.h>',
           '#include <assert.h>',
           '#define EVENT_NO_STRUCT',
           '#include <event.h>', '']
    out += p.c_lines
    if p.c_lines:
        out.append('')
    out += ['#include "%s"' % os.path.basename(h_path), '',
            '#ifdef __cplusplus', 'extern "C" {', '#endif',
            '/* Exported by libevent for generated code (its log.c). */',
            'void event_warn(const char *fmt, ...);',
            'void event_warnx(const char *fmt, ...);',
            '#ifdef __cplusplus', '}', '#endif', '',
            '/* How deeply structs may nest in input. */',
            '#ifndef EVRPCGEN_MAX_NESTING',
            '#define EVRPCGEN_MAX_NESTING %d' % MAX_NESTING,
            '#endif', '']
    for s in p.structs:
        out.append('static int evtag_unmarshal_%s_at(struct evbuffer *, '
                   'ev_uint32_t,\n    struct %s *, int);' % (s.name, s.name))
        out.append('static struct %s *%s_copy(const struct %s *);'
                   % (s.name, s.name, s.name))
    out.append('')
    if any(e.kind == 'varbytes' for s in p.structs for e in s.entries):
        out.append(UNMARSHAL_BYTES.strip('\n'))
        out.append('')
    for s in p.structs:
        out.append('/* struct %s */\n' % s.name)
        out.append(struct_functions(s))
    text = '\n'.join(out)
    # A struct that nobody nests has an unused copy helper.
    used = set()
    for s in p.structs:
        for e in s.entries:
            if e.kind == 'struct':
                used.add(e.ref)
    for s in p.structs:
        if s.name not in used:
            text = text.replace(
                'static struct %s *\n%s_copy(' % (s.name, s.name),
                '#if defined(__GNUC__)\n__attribute__((unused))\n#endif\n'
                'static struct %s *\n%s_copy(' % (s.name, s.name))
    return text


# ---------------------------------------------------------------------------

def write_all(outputs):
    """Write each (path, text) whole or none of them."""
    temps = []
    try:
        for path, text in outputs:
            d = os.path.dirname(path) or '.'
            fd, tmp = tempfile.mkstemp(prefix='.rpcgen-', dir=d)
            temps.append((tmp, path))
            with os.fdopen(fd, 'w') as f:
                f.write(text)
            os.chmod(tmp, 0o644)
        for tmp, path in temps:
            os.replace(tmp, path)
        temps = []
    finally:
        for tmp, _ in temps:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def main(argv):
    prog = os.path.basename(argv[0]) if argv else 'event_rpcgen.py'
    if len(argv) < 2 or len(argv) > 4:
        sys.stderr.write('usage: %s FILE.rpc [HEADER [SOURCE]]\n' % prog)
        return 1
    rpc = argv[1]
    if not rpc.endswith('.rpc') or len(os.path.basename(rpc)) <= 4:
        sys.stderr.write('%s: %s: the input must be a NAME.rpc file\n'
                         % (prog, rpc))
        return 1
    base = rpc[:-len('.rpc')]
    h_path = argv[2] if len(argv) > 2 else base + '.gen.h'
    c_path = argv[3] if len(argv) > 3 else base + '.gen.c'
    try:
        with open(rpc, 'rb') as f:
            raw = f.read()
    except OSError as err:
        sys.stderr.write('%s: %s: %s\n' % (prog, rpc, err.strerror))
        return 1
    try:
        try:
            text = raw.decode('utf-8')
        except UnicodeDecodeError as err:
            raise RpcError(raw.count(b'\n', 0, err.start) + 1,
                           'the file is not UTF-8 text')
        if '\0' in text:
            raise RpcError(text.count('\n', 0, text.index('\0')) + 1,
                           'NUL byte in the file')
        p = Parser(text).parse()
    except RpcError as err:
        sys.stderr.write('%s:%d: error: %s\n' % (rpc, err.line, err.message))
        return 1
    try:
        write_all([(h_path, gen_header(p, rpc, h_path)),
                   (c_path, gen_source(p, rpc, h_path, c_path))])
    except OSError as err:
        sys.stderr.write('%s: cannot write the output: %s\n'
                         % (prog, err))
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
