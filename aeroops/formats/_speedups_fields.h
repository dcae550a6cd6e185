/* Documents' body fields as typed columns, in C: included by _speedups.c after
 * _speedups_documents.h (whose doc_mix and doc_utf8 it uses), used through
 * aeroops.executor.document_table.FieldReading.
 *
 * fields_new(wanted) -> reading (a capsule). wanted: None, or the only field names to keep.
 * fields_feed(reading, bodies, careful)
 *   Reads the next bodies (a list of bytes, one per row; rows are numbered on from the last
 *   feed). A body read the plain way is a JSON object exactly as orjson writes it (compact, its
 *   escapes, numbers as Python's repr writes them, no exponent), with no repeated field, no
 *   field name holding a dot or an escape, nested at most PLAIN_DEPTH deep, at most
 *   PLAIN_FIELDS fields, at most 1 MiB: its fields are then exactly what
 *   aeroops.core.documents.flatten makes of it (a top-level name of a row column as
 *   "body.<name>"), with no note. Plain bodies are read without the interpreter's lock. Any
 *   other body is handed to careful(row, body), which returns its fields as
 *   [(name, kind, value, json_text or None), ...] (Python's flatten: the rare body); the lock
 *   is then kept for the rest of the list. One feed at a time per reading.
 * fields_finish(reading) -> [(name, kind, missing, values, text), ...]
 *   Columns in the order their names first appear (row by row, each row in flatten's order),
 *   each typed as aeroops.core.documents.merged_kind types a column:
 *   kind 0 (no value: text, all missing), 1 boolean, 2 integer, 3 float, 4 string, 5 JSON text.
 *   missing: a bytearray, one byte per row (1: missing); values: per row u8 (boolean), i64
 *   (integer), f64 (float), or for text kinds the n+1 i64 offsets into `text`, its UTF-8 (a
 *   read-only buffer owning the column's text, handed over without a copy). Once only.
 */

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define FK_NULL 0
#define FK_BOOL 1
#define FK_INT 2
#define FK_FLOAT 3
#define FK_STR 4
#define FK_JSON 5

#define PLAIN_DEPTH 16             /* flatten keeps 32 levels; past this, the careful way */
#define PLAIN_FIELDS 1000          /* core.documents.FIELDS_LIMIT */
#define PLAIN_BODY (1u << 20)      /* core.documents.BODY_FIELDS_LIMIT */
#define PLAIN_NAME 4096            /* a dotted name longer than this: the careful way */
#define PLAIN_SIBLINGS 256         /* members of one object checked for repeats */

/* A careful row's JSON text of a value C cannot write (a float, an integer, a big integer),
 * kept in the arena in case the column ends up as JSON text. */
typedef struct {
    uint32_t row;
    uint32_t len;
    uint64_t off;
} FExtra;

/* A column, built as its rows come: per row its value's kind (FK_NULL also for a row without
 * the field), a number (an integer, a double's bits, a truth value), and a string's text. */
typedef struct {
    unsigned char *name;
    size_t name_len;
    uint64_t hash;
    unsigned kinds; /* bit per kind seen, FK_NULL's included */
    int32_t next;   /* the column the field after this one went to last time */
    int32_t order;  /* first appearance, -1 before */
    size_t cap;     /* rows the per-row arrays hold (zero-filled past the last value) */
    uint8_t *kind;
    int64_t *num;          /* allocated on the first number or truth value */
    int64_t *offsets;      /* allocated on the first string: offsets[r + 1] ends row r's text */
    size_t text_rows;      /* rows whose offsets are set */
    unsigned char *text;   /* handed to Python as it is (an FBuffer) when the column is text */
    size_t text_len, text_cap;
    FExtra *extra;
    size_t nextra, extra_cap;
} FColumn;

typedef struct {
    FColumn *cols;
    size_t ncols, cap;
    int32_t *table; /* open addressing: column index + 1, 0 empty */
    size_t table_cap;
    int closed; /* only the wanted names */
    unsigned char *arena;
    size_t arena_len, arena_cap;
    int32_t *appeared; /* column indexes in order of first appearance */
    size_t nappeared;
    int32_t first; /* the column the last row's first field went to */
} FShred;

/* The tape of one plain body: its top level and nested objects' members, in order. */
enum { T_STR, T_INT, T_FLOAT, T_TRUE, T_FALSE, T_NULL, T_RAW, T_OBJ };

typedef struct {
    uint8_t type;
    uint8_t escaped; /* a string with escapes */
    uint32_t start, len;
    uint32_t end; /* T_OBJ: the tape index past its members */
    union {
        int64_t i;
        double d;
    } v;
} FTape;

typedef struct {
    const unsigned char *s;
    size_t n, i;
    FTape *tape;
    size_t ntape, tape_cap;
    size_t fields;
    size_t name_len; /* the dotted prefix's length at this depth */
} FScan;

static int f_tape_push(FScan *sc, FTape t) {
    if (sc->ntape == sc->tape_cap) {
        size_t cap = sc->tape_cap ? sc->tape_cap * 2 : 256;
        FTape *tape = PyMem_RawRealloc(sc->tape, cap * sizeof(FTape));
        if (tape == NULL) return -1;
        sc->tape = tape;
        sc->tape_cap = cap;
    }
    sc->tape[sc->ntape++] = t;
    return 0;
}

/* A string at sc->i (its opening quote) as orjson writes one: escapes only \" \\ \b \f \n \r
 * \t and \u00xx (lowercase) for the other control characters, UTF-8 throughout. 1 plain. */
static int f_string(FScan *sc, uint32_t *start, uint32_t *len, int *escaped) {
    const unsigned char *s = sc->s;
    size_t i = sc->i + 1, n = sc->n;
    int high = 0;
    *escaped = 0;
    *start = (uint32_t)i;
    for (;;) {
#ifdef __SSE2__
        /* 16 bytes at a time: stop at '"', '\\' or a control character; note any byte >= 0x80 */
        const __m128i quote = _mm_set1_epi8('"'), back = _mm_set1_epi8('\\'), ctl = _mm_set1_epi8(0x1f);
        while (i + 16 <= n) {
            __m128i v = _mm_loadu_si128((const __m128i *)(s + i));
            __m128i stop = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, back)),
                                        _mm_cmpeq_epi8(_mm_max_epu8(v, ctl), ctl));
            high |= _mm_movemask_epi8(v);
            int hits = _mm_movemask_epi8(stop);
            if (hits) {
                i += (size_t)__builtin_ctz((unsigned)hits);
                break;
            }
            i += 16;
        }
#endif
        while (i + 8 <= n) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            /* a byte that is '"', '\\', < 0x20 or >= 0x80 */
            uint64_t q = w ^ 0x2222222222222222ull, b = w ^ 0x5C5C5C5C5C5C5C5Cull;
            uint64_t hits = ((q - 0x0101010101010101ull) & ~q) | ((b - 0x0101010101010101ull) & ~b) |
                            ((w - 0x2020202020202020ull) & ~w) | w;
            if (hits & 0x8080808080808080ull) break;
            i += 8;
        }
        if (i >= n) return 0;
        unsigned c = s[i];
        if (c == '"') break;
        if (c < 0x20) return 0;
        if (c >= 0x80) {
            high = 1;
            i++;
            continue;
        }
        if (c == '\\') {
            if (i + 1 >= n) return 0;
            unsigned e = s[i + 1];
            *escaped = 1;
            if (e == '"' || e == '\\' || e == 'b' || e == 'f' || e == 'n' || e == 'r' || e == 't') {
                i += 2;
                continue;
            }
            if (e != 'u' || i + 6 > n || s[i + 2] != '0' || s[i + 3] != '0') return 0;
            unsigned a = s[i + 4], b = s[i + 5];
            if (a != '0' && a != '1') return 0;
            unsigned lo;
            if (b >= '0' && b <= '9') lo = b - '0';
            else if (b >= 'a' && b <= 'f') lo = b - 'a' + 10;
            else return 0;
            unsigned code = (a - '0') * 16 + lo;
            if (code == 8 || code == 9 || code == 10 || code == 12 || code == 13) return 0; /* short forms */
            i += 6;
            continue;
        }
        i++;
    }
    *len = (uint32_t)(i - *start);
    if (high && !doc_utf8(s + *start, *len)) return 0;
    sc->i = i + 1;
    return 1;
}

/* The double nearest D x 10^k (D: p digits): strtod of "De<k>", with no decimal point for a
 * locale to read otherwise; glibc's strtod rounds correctly, as Python's float() does. */
static double f_decimal(const char *digits, size_t p, int k) {
    char buf[64];
    memcpy(buf, digits, p);
    snprintf(buf + p, sizeof buf - p, "e%d", k);
    return strtod(buf, NULL);
}

/* Whether D x 10^k (p digits, 16 or 17) is what repr writes for x, its value: the p-digit
 * decimal nearest x (printf's %.*e rounds exactly), and no (p-1)-digit decimal names x (the
 * two around D: any other is farther). An unsure answer is "no": the careful way then. */
static int f_shortest(const char *digits, size_t p, int k, double x) {
    char buf[64], near[24];
    int n = snprintf(buf, sizeof buf, "%.*e", (int)p - 1, x);
    if (n <= 0 || (size_t)n >= sizeof buf) return 0;
    size_t got = 0;
    const char *e = buf;
    for (; *e && *e != 'e'; e++)
        if (*e >= '0' && *e <= '9') {
            if (got == p) return 0;
            near[got++] = *e;
        }
    if (*e != 'e' || got != p || memcmp(near, digits, p) != 0 || atoi(e + 1) != k + (int)p - 1) return 0;
    char shorter[24];
    memcpy(shorter, digits, p - 1);
    if (f_decimal(shorter, p - 1, k + 1) == x) return 0;
    size_t q = p - 1; /* the next (p-1)-digit decimal up: add one in the last place */
    while (q > 0 && shorter[q - 1] == '9') shorter[--q] = '0';
    if (q == 0) {
        memmove(shorter + 1, shorter, p - 1);
        shorter[0] = '1';
        return f_decimal(shorter, p, k + 1) != x;
    }
    shorter[q - 1]++;
    return f_decimal(shorter, p - 1, k + 1) != x;
}

/* A number as Python's repr (and orjson) writes it: an integer within 64 bits (not -0), or a
 * float with a fraction and no exponent that is its own shortest repr. 1 plain. */
static int f_number(FScan *sc, FTape *t) {
    const unsigned char *s = sc->s;
    size_t i = sc->i, n = sc->n, start = i;
    int negative = 0;
    if (s[i] == '-') {
        negative = 1;
        i++;
    }
    size_t int_start = i;
    if (i >= n || s[i] < '0' || s[i] > '9') return 0;
    if (s[i] == '0') i++;
    else
        while (i < n && s[i] >= '0' && s[i] <= '9') i++;
    size_t int_digits = i - int_start;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) return 0;
    t->start = (uint32_t)start;
    if (i >= n || s[i] != '.') {
        if (int_digits > 19 || (negative && int_digits == 1 && s[int_start] == '0')) return 0;
        uint64_t u = 0;
        for (size_t k = int_start; k < i; k++) {
            uint64_t d = (uint64_t)(s[k] - '0');
            if (u > (UINT64_MAX - d) / 10) return 0;
            u = u * 10 + d;
        }
        if (u > (uint64_t)INT64_MAX + (uint64_t)negative) return 0;
        t->type = T_INT;
        t->v.i = negative ? (int64_t)(0 - u) : (int64_t)u;
        t->len = (uint32_t)(i - start);
        sc->i = i;
        return 1;
    }
    size_t frac_start = ++i;
    while (i < n && s[i] >= '0' && s[i] <= '9') i++;
    size_t frac_digits = i - frac_start;
    if (frac_digits == 0 || (i < n && (s[i] == 'e' || s[i] == 'E'))) return 0;
    if (int_digits > 16) return 0; /* repr writes 1e16 and past with an exponent */
    /* no trailing zero, but x.0 */
    if (s[i - 1] == '0' && frac_digits != 1) return 0;
    size_t len = i - start;
    if (len > 40) return 0; /* 17 significant digits and 16 zeros after the point, at most */
    /* the digits D (no leading or trailing zero) and k: the value is D x 10^k */
    char all[48];
    size_t count = 0;
    for (size_t q = int_start; q < i; q++)
        if (s[q] != '.') all[count++] = (char)s[q];
    size_t lead = 0, end = count;
    while (lead < count && all[lead] == '0') lead++;
    while (end > lead && all[end - 1] == '0') end--;
    size_t p = end - lead;
    int k = (int)(count - end) - (int)frac_digits;
    double d = p ? f_decimal(all + lead, p, k) : 0.0;
    if (negative) d = -d;
    if (d != 0.0 && (d < 0 ? -d : d) < 1e-4) return 0; /* repr (and orjson) write an exponent */
    /* past 15 digits a shorter string may name the same double, or a nearer one of as many */
    if (p > 17 || (p > 15 && !f_shortest(all + lead, p, k, d < 0 ? -d : d))) return 0;
    t->type = T_FLOAT;
    t->v.d = d;
    t->len = (uint32_t)len;
    sc->i = i;
    return 1;
}

static int f_value(FScan *sc, int depth, int tape);

/* core.documents.META_COLUMNS and BODY_COLUMN; CLASH_PREFIX goes before such a name */
static const char *const f_row_columns[] = {"collection", "key", "schema", "version", "note", "body"};
#define CLASH_PREFIX "body."

/* Members of an object (sc->i at '{'), checked for repeated names; on the tape when `tape`
 * (a member of the body's own objects), as name, value pairs. */
static int f_object(FScan *sc, int depth, int tape) {
    const unsigned char *s = sc->s;
    uint32_t names[PLAIN_SIBLINGS][3]; /* start, length, a tag compared before the bytes */
    size_t count = 0;
    sc->i++;
    if (sc->i < sc->n && s[sc->i] == '}') {
        sc->i++;
        return 1;
    }
    for (;;) {
        if (sc->i >= sc->n || s[sc->i] != '"') return 0;
        uint32_t start, len;
        int escaped;
        if (!f_string(sc, &start, &len, &escaped)) return 0;
        if (count == PLAIN_SIBLINGS) return 0;
        uint32_t tag = len ? (uint32_t)s[start] << 8 ^ s[start + len - 1] ^ (uint32_t)s[start + len / 2] << 16 : 0;
        for (size_t k = 0; k < count; k++)
            if (names[k][2] == tag && names[k][1] == len && memcmp(s + names[k][0], s + start, len) == 0) return 0;
        names[count][0] = start;
        names[count][1] = len;
        names[count][2] = tag;
        count++;
        size_t grow = len + 1; /* the dotted prefix of its members */
        if (tape) {
            if (escaped || memchr(s + start, '.', len) != NULL) return 0;
            uint8_t clash = 0; /* a top-level name of a row column: shown as "body.<name>" */
            if (depth == 1)
                for (size_t k = 0; k < sizeof f_row_columns / sizeof *f_row_columns; k++)
                    if (strlen(f_row_columns[k]) == len && memcmp(f_row_columns[k], s + start, len) == 0) clash = 1;
            grow += 5 * clash;
            if (sc->name_len + grow > PLAIN_NAME) return 0;
            FTape t = {T_STR, clash, start, len, 0, {0}};
            if (f_tape_push(sc, t) < 0) return -1;
        }
        if (sc->i >= sc->n || s[sc->i] != ':') return 0;
        sc->i++;
        size_t saved = sc->name_len;
        sc->name_len += grow;
        int r = f_value(sc, depth, tape);
        sc->name_len = saved;
        if (r != 1) return r;
        if (sc->i >= sc->n) return 0;
        if (s[sc->i] == ',') {
            sc->i++;
            continue;
        }
        if (s[sc->i] != '}') return 0;
        sc->i++;
        return 1;
    }
}

static int f_array(FScan *sc, int depth) {
    const unsigned char *s = sc->s;
    sc->i++;
    if (sc->i < sc->n && s[sc->i] == ']') {
        sc->i++;
        return 1;
    }
    for (;;) {
        int r = f_value(sc, depth, 0);
        if (r != 1) return r;
        if (sc->i >= sc->n) return 0;
        if (s[sc->i] == ',') {
            sc->i++;
            continue;
        }
        if (s[sc->i] != ']') return 0;
        sc->i++;
        return 1;
    }
}

/* One value at sc->i. 1 plain, 0 not (the careful way), -1 out of memory. */
static int f_value(FScan *sc, int depth, int tape) {
    const unsigned char *s = sc->s;
    if (sc->i >= sc->n) return 0;
    size_t start = sc->i;
    FTape t = {0, 0, (uint32_t)start, 0, 0, {0}};
    unsigned c = s[start];
    int r;
    if (c == '{') {
        if (depth + 1 > PLAIN_DEPTH) return 0;
        int nonempty = start + 1 < sc->n && s[start + 1] != '}';
        if (tape && nonempty) {
            size_t at = sc->ntape;
            t.type = T_OBJ;
            if (f_tape_push(sc, t) < 0) return -1;
            r = f_object(sc, depth + 1, 1);
            if (r != 1) return r;
            sc->tape[at].len = (uint32_t)(sc->i - start);
            sc->tape[at].end = (uint32_t)sc->ntape;
            return 1;
        }
        r = f_object(sc, depth + 1, 0);
        t.type = T_RAW; /* an empty object, or one inside an array: JSON text */
    } else if (c == '[') {
        if (depth + 1 > PLAIN_DEPTH) return 0;
        r = f_array(sc, depth + 1);
        t.type = T_RAW;
    } else if (c == '"') {
        int escaped;
        r = f_string(sc, &t.start, &t.len, &escaped);
        t.type = T_STR;
        t.escaped = (uint8_t)escaped;
        if (r == 1 && tape) {
            sc->fields++;
            return f_tape_push(sc, t) < 0 ? -1 : 1;
        }
        return r;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
        r = f_number(sc, &t);
        if (r == 1 && tape) {
            sc->fields++;
            return f_tape_push(sc, t) < 0 ? -1 : 1;
        }
        return r;
    } else if (c == 't' && sc->n - start >= 4 && memcmp(s + start, "true", 4) == 0) {
        t.type = T_TRUE;
        sc->i += 4;
        r = 1;
    } else if (c == 'f' && sc->n - start >= 5 && memcmp(s + start, "false", 5) == 0) {
        t.type = T_FALSE;
        sc->i += 5;
        r = 1;
    } else if (c == 'n' && sc->n - start >= 4 && memcmp(s + start, "null", 4) == 0) {
        t.type = T_NULL;
        sc->i += 4;
        r = 1;
    } else
        return 0;
    if (r != 1) return r;
    if (tape) {
        t.len = (uint32_t)(sc->i - start);
        sc->fields++;
        if (f_tape_push(sc, t) < 0) return -1;
    }
    return 1;
}

/* --- the columns ----------------------------------------------------------------------------- */

static void f_free(FShred *sh) {
    for (size_t k = 0; k < sh->ncols; k++) {
        FColumn *c = &sh->cols[k];
        PyMem_RawFree(c->name);
        PyMem_RawFree(c->kind);
        PyMem_RawFree(c->num);
        PyMem_RawFree(c->offsets);
        PyMem_RawFree(c->extra);
        PyMem_RawFree(c->text);
    }
    PyMem_RawFree(sh->cols);
    PyMem_RawFree(sh->table);
    PyMem_RawFree(sh->arena);
    PyMem_RawFree(sh->appeared);
    memset(sh, 0, sizeof *sh);
}

/* The column of a name, added when new (unless closed: then -1). -2: out of memory. */
static int32_t f_column(FShred *sh, const unsigned char *name, size_t len, int add) {
    uint64_t h = doc_mix(0x9E3779B97F4A7C15ull, name, len);
    if (sh->table_cap == 0 || (sh->ncols + 1) * 2 > sh->table_cap) {
        size_t cap = sh->table_cap ? sh->table_cap * 2 : 64;
        int32_t *table = PyMem_RawCalloc(cap, sizeof(int32_t));
        if (table == NULL) return -2;
        for (size_t k = 0; k < sh->ncols; k++) {
            size_t j = sh->cols[k].hash & (cap - 1);
            while (table[j]) j = (j + 1) & (cap - 1);
            table[j] = (int32_t)k + 1;
        }
        PyMem_RawFree(sh->table);
        sh->table = table;
        sh->table_cap = cap;
    }
    size_t j = h & (sh->table_cap - 1);
    while (sh->table[j]) {
        FColumn *c = &sh->cols[sh->table[j] - 1];
        if (c->hash == h && c->name_len == len && memcmp(c->name, name, len) == 0) return sh->table[j] - 1;
        j = (j + 1) & (sh->table_cap - 1);
    }
    if (!add) return -1;
    if (sh->ncols == sh->cap) {
        size_t cap = sh->cap ? sh->cap * 2 : 64;
        FColumn *cols = PyMem_RawRealloc(sh->cols, cap * sizeof(FColumn));
        int32_t *appeared = PyMem_RawRealloc(sh->appeared, cap * sizeof(int32_t));
        if (cols != NULL) sh->cols = cols;
        if (appeared != NULL) sh->appeared = appeared;
        if (cols == NULL || appeared == NULL) return -2;
        sh->cap = cap;
    }
    FColumn *c = &sh->cols[sh->ncols];
    memset(c, 0, sizeof *c);
    c->name = PyMem_RawMalloc(len ? len : 1);
    if (c->name == NULL) return -2;
    memcpy(c->name, name, len);
    c->name_len = len;
    c->hash = h;
    c->next = -1;
    c->order = -1;
    sh->table[j] = (int32_t)sh->ncols + 1;
    return (int32_t)sh->ncols++;
}

/* Room for a value in `row`: the per-row arrays grown (doubling, zero-filled) past it. */
static int f_room(FColumn *c, size_t row) {
    if (row < c->cap) return 0;
    size_t cap = c->cap ? c->cap : 64;
    while (cap <= row) cap *= 2;
    uint8_t *kind = PyMem_RawRealloc(c->kind, cap);
    if (kind == NULL) return -1;
    memset(kind + c->cap, 0, cap - c->cap);
    c->kind = kind;
    if (c->num != NULL) {
        int64_t *num = PyMem_RawRealloc(c->num, cap * sizeof(int64_t));
        if (num == NULL) return -1;
        memset(num + c->cap, 0, (cap - c->cap) * sizeof(int64_t));
        c->num = num;
    }
    if (c->offsets != NULL) {
        int64_t *offsets = PyMem_RawRealloc(c->offsets, (cap + 1) * sizeof(int64_t));
        if (offsets == NULL) return -1;
        c->offsets = offsets;
    }
    c->cap = cap;
    return 0;
}

static void f_appeared(FShred *sh, int32_t col) {
    FColumn *c = &sh->cols[col];
    if (c->order < 0) {
        c->order = (int32_t)sh->nappeared;
        sh->appeared[sh->nappeared++] = col;
    }
}

static int f_put_num(FColumn *c, size_t row, int kind, int64_t bits) {
    if (f_room(c, row) < 0) return -1;
    if (c->num == NULL && (c->num = PyMem_RawCalloc(c->cap, sizeof(int64_t))) == NULL) return -1;
    c->kind[row] = (uint8_t)kind;
    c->num[row] = bits;
    c->kinds |= 1u << kind;
    return 0;
}

/* Room for `len` more bytes of text: the buffer grown by doubling. */
static unsigned char *f_text_room(FColumn *c, size_t len) {
    if (c->text == NULL || c->text_len + len > c->text_cap) {
        size_t cap = c->text_cap ? c->text_cap : 4096;
        while (cap < c->text_len + len) cap *= 2;
        unsigned char *text = PyMem_RawRealloc(c->text, cap);
        if (text == NULL) return NULL;
        c->text = text;
        c->text_cap = cap;
    }
    return c->text + c->text_len;
}

/* A string's text in `row`, `len` bytes, already written at f_text_room's pointer. */
static int f_put_text(FColumn *c, size_t row, size_t len) {
    if (f_room(c, row) < 0) return -1;
    if (c->offsets == NULL && (c->offsets = PyMem_RawCalloc(c->cap + 1, sizeof(int64_t))) == NULL) return -1;
    for (size_t r = c->text_rows; r < row; r++) c->offsets[r + 1] = (int64_t)c->text_len;
    c->text_len += len;
    c->offsets[row + 1] = (int64_t)c->text_len;
    c->text_rows = row + 1;
    c->kind[row] = FK_STR;
    c->kinds |= 1u << FK_STR;
    return 0;
}

static int f_copy_text(FColumn *c, size_t row, const unsigned char *p, size_t len) {
    unsigned char *at = f_text_room(c, len);
    if (at == NULL) return -1;
    memcpy(at, p, len);
    return f_put_text(c, row, len);
}

static int f_put_null(FColumn *c, size_t row) {
    if (f_room(c, row) < 0) return -1;
    c->kind[row] = FK_NULL;
    c->kinds |= 1u << FK_NULL;
    return 0;
}

static int f_arena(FShred *sh, const void *p, size_t len, uint64_t *off) {
    if (sh->arena_len + len > sh->arena_cap) {
        size_t cap = sh->arena_cap ? sh->arena_cap * 2 : (1u << 16);
        while (cap < sh->arena_len + len) cap *= 2;
        unsigned char *arena = PyMem_RawRealloc(sh->arena, cap);
        if (arena == NULL) return -1;
        sh->arena = arena;
        sh->arena_cap = cap;
    }
    memcpy(sh->arena + sh->arena_len, p, len);
    *off = sh->arena_len;
    sh->arena_len += len;
    return 0;
}

/* A string's text without its escapes (the canonical ones f_string let through), into `row`. */
static int f_unescaped(FColumn *c, size_t row, const unsigned char *s, size_t len) {
    unsigned char *buf = f_text_room(c, len);
    if (buf == NULL) return -1;
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] != '\\') {
            buf[o++] = s[i];
            continue;
        }
        unsigned e = s[++i];
        switch (e) {
        case 'b': buf[o++] = '\b'; break;
        case 'f': buf[o++] = '\f'; break;
        case 'n': buf[o++] = '\n'; break;
        case 'r': buf[o++] = '\r'; break;
        case 't': buf[o++] = '\t'; break;
        case 'u': {
            unsigned a = s[i + 3] - '0', b = s[i + 4];
            buf[o++] = (unsigned char)(a * 16 + (b <= '9' ? b - '0' : b - 'a' + 10));
            i += 4;
            break;
        }
        default: buf[o++] = (unsigned char)e;
        }
    }
    return f_put_text(c, row, o);
}

typedef struct {
    FShred *sh;
    const unsigned char *body;
    const FTape *tape;
    uint32_t row;
    unsigned char *name;
    int32_t prev;  /* the column the row's last field went to (-1: none yet) */
    int32_t guess; /* the column the next field most likely goes to */
} FEmit;

/* Where a field goes: most rows have the fields of the row before, in the same order, so each
 * column remembers the one that came after it and is asked first. */
static inline int f_same(const unsigned char *a, const unsigned char *b, size_t n) {
    for (; n >= 8; a += 8, b += 8, n -= 8) {
        uint64_t x, y;
        memcpy(&x, a, 8);
        memcpy(&y, b, 8);
        if (x != y) return 0;
    }
    while (n--)
        if (*a++ != *b++) return 0;
    return 1;
}

/* The column of the field `name` (name_len bytes, in the body) after the dotted prefix already
 * in em->name (`at` bytes): the guess is asked first, the name copied only when it is wrong. */
static int32_t f_field_column(FEmit *em, size_t at, const unsigned char *name, size_t name_len) {
    FShred *sh = em->sh;
    if (em->guess >= 0) {
        FColumn *g = &sh->cols[em->guess];
        if (g->name_len == at + name_len && f_same(g->name + at, name, name_len) && f_same(g->name, em->name, at))
            return em->guess;
    }
    memcpy(em->name + at, name, name_len);
    return f_column(sh, em->name, at + name_len, !sh->closed);
}

/* The row's field went to `col`: the guesses taught. */
static void f_filled(FEmit *em, int32_t col) {
    FShred *sh = em->sh;
    f_appeared(sh, col);
    if (em->prev >= 0) sh->cols[em->prev].next = col;
    else sh->first = col;
    em->prev = col;
    em->guess = sh->cols[col].next;
}

static int f_emit_field(FEmit *em, size_t at, const FTape *name, const FTape *v) {
    FShred *sh = em->sh;
    int32_t col = f_field_column(em, at, em->body + name->start, name->len);
    if (col == -2) return -1;
    if (col == -1) return 0; /* not wanted */
    FColumn *c = &sh->cols[col];
    int r;
    switch (v->type) {
    case T_STR:
        r = v->escaped ? f_unescaped(c, em->row, em->body + v->start, v->len)
                       : f_copy_text(c, em->row, em->body + v->start, v->len);
        break;
    case T_RAW: /* an array or an empty object: its JSON text, as a string */
        r = f_copy_text(c, em->row, em->body + v->start, v->len);
        break;
    case T_INT: r = f_put_num(c, em->row, FK_INT, v->v.i); break;
    case T_FLOAT: r = f_put_num(c, em->row, FK_FLOAT, v->v.i); break; /* the double's bits */
    case T_TRUE:
    case T_FALSE: r = f_put_num(c, em->row, FK_BOOL, v->type == T_TRUE); break;
    default: r = f_put_null(c, em->row);
    }
    if (r < 0) return -1;
    f_filled(em, col);
    return 1;
}

/* flatten's order: an object's own fields in order, then its nested objects, the last first.
 * children: scratch room for the nested objects' tape indexes. */
static int f_emit_object(FEmit *em, size_t from, size_t to, size_t prefix, int32_t *children) {
    size_t nchildren = 0;
    for (size_t k = from; k < to;) {
        const FTape *name = &em->tape[k], *v = &em->tape[k + 1];
        if (v->type == T_OBJ) {
            children[nchildren++] = (int32_t)k;
            k = v->end;
            continue;
        }
        size_t at = prefix;
        if (name->escaped) { /* a clash: the top level only */
            memcpy(em->name, CLASH_PREFIX, 5);
            at = 5;
        }
        if (f_emit_field(em, at, name, v) < 0) return -1;
        k += 2;
    }
    for (size_t c = nchildren; c-- > 0;) {
        const FTape *name = &em->tape[children[c]], *v = &em->tape[children[c] + 1];
        size_t at = prefix;
        if (name->escaped) {
            memcpy(em->name, CLASH_PREFIX, 5);
            at = 5;
        }
        memcpy(em->name + at, em->body + name->start, name->len);
        em->name[at + name->len] = '.';
        if (f_emit_object(em, (size_t)children[c] + 2, v->end, at + name->len + 1, children + nchildren) < 0)
            return -1;
    }
    return 0;
}

/* A body read the plain way: its fields into the columns. 1 done, 0 not plain, -1 no memory. */
static int f_plain_row(FShred *sh, FScan *sc, const unsigned char *body, size_t n, uint32_t row,
                       unsigned char *name, int32_t **scratch, size_t *scratch_cap) {
    if (n > PLAIN_BODY || n < 2 || body[0] != '{') return 0;
    sc->s = body;
    sc->n = n;
    sc->i = 0;
    sc->ntape = 0;
    sc->fields = 0;
    sc->name_len = 0;
    int r = f_object(sc, 1, 1);
    if (r != 1) return r;
    if (sc->i != n || sc->fields > PLAIN_FIELDS) return 0;
    if (*scratch_cap < sc->ntape + 1) {
        int32_t *more = PyMem_RawRealloc(*scratch, (sc->ntape + 1) * sizeof(int32_t));
        if (more == NULL) return -1;
        *scratch = more;
        *scratch_cap = sc->ntape + 1;
    }
    FEmit em = {sh, body, sc->tape, row, name, -1, sh->first};
    return f_emit_object(&em, 0, sc->ntape, 0, *scratch) < 0 ? -1 : 1;
}

/* A body read the careful way: careful(row, body) -> [(name, kind, value, json_text), ...]. */
static int f_careful_row(FShred *sh, PyObject *careful, PyObject *body, uint32_t row) {
    PyObject *fields = PyObject_CallFunction(careful, "IO", row, body);
    if (fields == NULL) return -1;
    PyObject *seq = PySequence_Fast(fields, "careful() returns a list");
    Py_DECREF(fields);
    if (seq == NULL) return -1;
    FEmit em = {sh, NULL, NULL, row, NULL, -1, -1};
    Py_ssize_t count = PySequence_Fast_GET_SIZE(seq);
    for (Py_ssize_t k = 0; k < count; k++) {
        PyObject *item = PySequence_Fast_GET_ITEM(seq, k), *name, *value, *text;
        int kind, r = 0;
        if (!PyArg_ParseTuple(item, "UiOO", &name, &kind, &value, &text)) goto fail;
        Py_ssize_t len;
        const char *utf8 = PyUnicode_AsUTF8AndSize(name, &len);
        if (utf8 == NULL) goto fail;
        int32_t col = f_column(sh, (const unsigned char *)utf8, (size_t)len, !sh->closed);
        if (col == -2) goto nomem;
        if (col == -1) continue;
        FColumn *c = &sh->cols[col];
        union {
            int64_t i;
            double d;
        } number = {0};
        switch (kind) {
        case FK_NULL: r = f_put_null(c, row); break;
        case FK_BOOL: r = f_put_num(c, row, FK_BOOL, PyObject_IsTrue(value) == 1); break;
        case FK_STR:
            if ((utf8 = PyUnicode_AsUTF8AndSize(value, &len)) == NULL) goto fail;
            r = f_copy_text(c, row, (const unsigned char *)utf8, (size_t)len);
            break;
        case FK_INT:
        case FK_FLOAT:
        case FK_JSON:
            if (kind == FK_INT && (number.i = PyLong_AsLongLong(value)) == -1 && PyErr_Occurred()) goto fail;
            if (kind == FK_FLOAT && (number.d = PyFloat_AsDouble(value)) == -1.0 && PyErr_Occurred()) goto fail;
            if ((utf8 = PyUnicode_AsUTF8AndSize(text, &len)) == NULL) goto fail;
            if (c->nextra == c->extra_cap) {
                size_t cap = c->extra_cap ? c->extra_cap * 2 : 16;
                FExtra *extra = PyMem_RawRealloc(c->extra, cap * sizeof(FExtra));
                if (extra == NULL) goto nomem;
                c->extra = extra;
                c->extra_cap = cap;
            }
            FExtra *x = &c->extra[c->nextra++];
            x->row = row;
            x->len = (uint32_t)len;
            if (f_arena(sh, utf8, (size_t)len, &x->off) < 0) goto nomem;
            r = f_put_num(c, row, kind, number.i);
            break;
        default: PyErr_Format(PyExc_ValueError, "unknown field kind %d", kind); goto fail;
        }
        if (r < 0) goto nomem;
        f_filled(&em, col);
    }
    Py_DECREF(seq);
    return 0;
nomem:
    if (!PyErr_Occurred()) PyErr_NoMemory();
fail:
    Py_DECREF(seq);
    return -1;
}

/* orjson's JSON text of a string: quoted, with \" \\ \b \f \n \r \t and \u00xx escapes. */
static size_t f_quoted_len(const unsigned char *s, size_t n) {
    size_t len = 2;
    for (size_t i = 0; i < n; i++) {
        unsigned c = s[i];
        len += c == '"' || c == '\\' || c == '\b' || c == '\f' || c == '\n' || c == '\r' || c == '\t' ? 2
               : c < 0x20                                                                               ? 6
                                                                                                         : 1;
    }
    return len;
}

static unsigned char *f_quote(unsigned char *out, const unsigned char *s, size_t n) {
    static const char hex[] = "0123456789abcdef";
    *out++ = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned c = s[i];
        const char *short_form = c == '"' ? "\\\"" : c == '\\' ? "\\\\" : c == '\b' ? "\\b" : c == '\f' ? "\\f"
                                 : c == '\n' ? "\\n" : c == '\r' ? "\\r" : c == '\t' ? "\\t" : NULL;
        if (short_form != NULL) {
            *out++ = (unsigned char)short_form[0];
            *out++ = (unsigned char)short_form[1];
        } else if (c < 0x20) {
            memcpy(out, "\\u00", 4);
            out[4] = (unsigned char)hex[c >> 4];
            out[5] = (unsigned char)hex[c & 15];
            out += 6;
        } else
            *out++ = (unsigned char)c;
    }
    *out++ = '"';
    return out;
}

static int f_merged_kind(unsigned kinds) {
    kinds &= ~(1u << FK_NULL);
    if (kinds == 0) return FK_NULL;
    if ((kinds & (kinds - 1)) == 0) {
        int k = 0;
        while (!(kinds & (1u << k))) k++;
        return k;
    }
    if ((kinds & ~((1u << FK_INT) | (1u << FK_FLOAT))) == 0) return FK_FLOAT;
    return FK_JSON;
}

/* The JSON text of row r's value in a column of mixed kinds, into out (NULL: its length only).
 * A careful row's number or big integer: the text Python gave (extra, in row order); a plain
 * row's: an integer as written, a float as repr writes it (the only floats read in C). */
static Py_ssize_t f_json(const FShred *sh, const FColumn *c, size_t r, size_t *extra, unsigned char *out) {
    const unsigned char *text = c->text;
    char buf[32];
    const char *p = buf;
    size_t len;
    switch (c->kind[r]) {
    case FK_BOOL:
        p = c->num[r] ? "true" : "false";
        len = c->num[r] ? 4 : 5;
        break;
    case FK_STR: {
        const unsigned char *s = text + c->offsets[r];
        size_t n = (size_t)(c->offsets[r + 1] - c->offsets[r]);
        if (out == NULL) return (Py_ssize_t)f_quoted_len(s, n);
        return f_quote(out, s, n) - out;
    }
    default:
        if (*extra < c->nextra && c->extra[*extra].row == r) {
            const FExtra *x = &c->extra[(*extra)++];
            p = (const char *)sh->arena + x->off;
            len = x->len;
        } else if (c->kind[r] == FK_INT) {
            len = (size_t)snprintf(buf, sizeof buf, "%lld", (long long)c->num[r]);
        } else {
            double d;
            memcpy(&d, &c->num[r], 8);
            char *repr = PyOS_double_to_string(d, 'r', 0, Py_DTSF_ADD_DOT_0, NULL);
            if (repr == NULL) return -1;
            len = strlen(repr);
            if (len < sizeof buf) memcpy(buf, repr, len);
            PyMem_Free(repr);
            if (len >= sizeof buf) return PyErr_Format(PyExc_ValueError, "a float's text is too long"), -1;
        }
    }
    if (out != NULL) memcpy(out, p, len);
    return (Py_ssize_t)len;
}

/* A column's text handed to Python without a copy: a read-only buffer owning the memory it
 * points at (pyarrow keeps it alive as long as an array uses it). */
typedef struct {
    PyObject_HEAD unsigned char *data;
    Py_ssize_t size;
} FBuffer;

static int f_buffer_get(PyObject *self, Py_buffer *view, int flags) {
    FBuffer *b = (FBuffer *)self;
    return PyBuffer_FillInfo(view, self, b->data, b->size, 1, flags);
}

static void f_buffer_dealloc(PyObject *self) {
    PyMem_RawFree(((FBuffer *)self)->data);
    Py_TYPE(self)->tp_free(self);
}

static PyBufferProcs f_buffer_procs = {f_buffer_get, NULL};

static PyTypeObject FBufferType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "aeroops.formats._speedups.Text",
    .tp_basicsize = sizeof(FBuffer),
    .tp_dealloc = f_buffer_dealloc,
    .tp_as_buffer = &f_buffer_procs,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A column's text (UTF-8), read-only.",
};

/* A buffer object owning `data` (NULL: empty) on success; on failure `data` is the caller's. */
static PyObject *f_buffer(unsigned char *data, size_t size) {
    if (data == NULL && (data = PyMem_RawMalloc(1)) == NULL) /* pyarrow wants a pointer, even for nothing */
        return PyErr_NoMemory();
    FBuffer *b = PyObject_New(FBuffer, &FBufferType);
    if (b == NULL) return NULL;
    b->data = data;
    b->size = (Py_ssize_t)size;
    return (PyObject *)b;
}

/* One column of `rows` rows as (name, kind, missing, values, text). */
static PyObject *f_build(const FShred *sh, FColumn *c, Py_ssize_t rows) {
    int kind = f_merged_kind(c->kinds);
    int text_kind = kind == FK_NULL || kind == FK_STR || kind == FK_JSON;
    size_t n = (size_t)rows, width = kind == FK_BOOL ? 1 : 8;
    size_t have = c->cap < n ? c->cap : n;
    PyObject *missing = PyByteArray_FromStringAndSize(NULL, rows);
    PyObject *values = PyByteArray_FromStringAndSize(NULL, (Py_ssize_t)(width * (n + text_kind)));
    PyObject *text = NULL;
    if (missing == NULL || values == NULL) goto fail;
    unsigned char *m = (unsigned char *)PyByteArray_AS_STRING(missing);
    unsigned char *v = (unsigned char *)PyByteArray_AS_STRING(values);
    for (size_t r = 0; r < have; r++) m[r] = c->kind[r] == FK_NULL;
    memset(m + have, 1, n - have);
    if (kind == FK_BOOL) {
        for (size_t r = 0; r < have; r++) v[r] = (unsigned char)(c->num != NULL && c->num[r]);
        memset(v + have, 0, n - have);
    } else if (kind == FK_INT || kind == FK_FLOAT) {
        int64_t *out = (int64_t *)v;
        for (size_t r = 0; r < have; r++) {
            out[r] = c->num[r];
            if (kind == FK_FLOAT && c->kind[r] == FK_INT) {
                double d = (double)c->num[r];
                memcpy(&out[r], &d, 8);
            }
        }
        memset(out + have, 0, (n - have) * 8);
    } else if (kind != FK_JSON) { /* strings, or nothing but nulls: the text as it is */
        int64_t *offsets = (int64_t *)v;
        size_t set = 0; /* offsets[0..set] written */
        offsets[0] = 0;
        if (c->offsets != NULL) {
            for (size_t r = c->text_rows; r < have; r++) c->offsets[r + 1] = (int64_t)c->text_len;
            memcpy(offsets, c->offsets, (have + 1) * 8);
            set = have;
        }
        for (size_t r = set; r < n; r++) offsets[r + 1] = (int64_t)c->text_len;
        if ((text = f_buffer(c->text, c->text_len)) == NULL) goto fail;
        c->text = NULL; /* the buffer owns it now */
    } else { /* JSON text: every value written as JSON, in two passes (lengths, then bytes) */
        if (c->offsets != NULL)
            for (size_t r = c->text_rows; r < have; r++) c->offsets[r + 1] = (int64_t)c->text_len;
        size_t total = 0, extra = 0;
        for (size_t r = 0; r < have; r++) {
            if (c->kind[r] == FK_NULL) continue;
            Py_ssize_t len = f_json(sh, c, r, &extra, NULL);
            if (len < 0) goto fail;
            total += (size_t)len;
        }
        if ((text = PyByteArray_FromStringAndSize(NULL, (Py_ssize_t)total)) == NULL) goto fail;
        unsigned char *t = (unsigned char *)PyByteArray_AS_STRING(text);
        int64_t *offsets = (int64_t *)v, at = 0;
        extra = 0;
        for (size_t r = 0; r < n; r++) {
            offsets[r] = at;
            if (r < have && c->kind[r] != FK_NULL) {
                Py_ssize_t len = f_json(sh, c, r, &extra, t + at);
                if (len < 0) goto fail;
                at += len;
            }
        }
        offsets[n] = at;
    }
    return Py_BuildValue("(s#iNNN)", c->name, (Py_ssize_t)c->name_len, kind, missing, values,
                         text != NULL ? text : Py_NewRef(Py_None));
fail:
    Py_XDECREF(missing);
    Py_XDECREF(values);
    Py_XDECREF(text);
    return NULL;
}

/* A reading in progress: fed bodies a list at a time, rows numbered on. */
typedef struct {
    FShred sh;
    FScan sc;
    int32_t *scratch;
    size_t scratch_cap;
    unsigned char *name;
    size_t rows;
    int busy;     /* a feed is running (one thread at a time) */
    int finished; /* the columns were handed out: nothing more to read */
} FReading;

static const char *F_CAPSULE = "aeroops.FieldsReading";

static void f_reading_destroy(PyObject *capsule) {
    FReading *rd = PyCapsule_GetPointer(capsule, F_CAPSULE);
    if (rd == NULL) return;
    f_free(&rd->sh);
    PyMem_RawFree(rd->sc.tape);
    PyMem_RawFree(rd->scratch);
    PyMem_RawFree(rd->name);
    PyMem_RawFree(rd);
}

static PyObject *fields_new(PyObject *self, PyObject *wanted) {
    (void)self;
    FReading *rd = PyMem_RawCalloc(1, sizeof *rd);
    if (rd == NULL || (rd->name = PyMem_RawMalloc(PLAIN_NAME + 1)) == NULL) {
        PyMem_RawFree(rd);
        return PyErr_NoMemory();
    }
    rd->sh.first = -1;
    PyObject *capsule = PyCapsule_New(rd, F_CAPSULE, f_reading_destroy);
    if (capsule == NULL) {
        PyMem_RawFree(rd->name);
        PyMem_RawFree(rd);
        return NULL;
    }
    if (wanted != Py_None) {
        PyObject *seq = PySequence_Fast(wanted, "wanted is a list of str");
        if (seq == NULL) goto fail;
        for (Py_ssize_t k = 0; k < PySequence_Fast_GET_SIZE(seq); k++) {
            Py_ssize_t len;
            const char *utf8 = PyUnicode_AsUTF8AndSize(PySequence_Fast_GET_ITEM(seq, k), &len);
            if (utf8 == NULL || f_column(&rd->sh, (const unsigned char *)utf8, (size_t)len, 1) == -2) {
                if (utf8 != NULL) PyErr_NoMemory();
                Py_DECREF(seq);
                goto fail;
            }
        }
        Py_DECREF(seq);
        rd->sh.closed = 1;
    }
    return capsule;
fail:
    Py_DECREF(capsule);
    return NULL;
}

/* Reads the plain bodies without the interpreter's lock (another thread builds the next
 * documents meanwhile); the first careful body takes the lock back for the rest of the list. */
static PyObject *fields_feed(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *capsule, *bodies, *careful;
    if (!PyArg_ParseTuple(args, "OOO", &capsule, &bodies, &careful)) return NULL;
    FReading *rd = PyCapsule_GetPointer(capsule, F_CAPSULE);
    if (rd == NULL) return NULL;
    PyObject *held = PySequence_Tuple(bodies); /* kept alive, whatever the caller does with its list */
    if (held == NULL) return NULL;
    Py_ssize_t count = PyTuple_GET_SIZE(held);
    for (Py_ssize_t k = 0; k < count; k++)
        if (!PyBytes_Check(PyTuple_GET_ITEM(held, k))) {
            Py_DECREF(held);
            return PyErr_Format(PyExc_TypeError, "bodies are bytes");
        }
    if (rd->busy || rd->finished) {
        Py_DECREF(held);
        return PyErr_Format(PyExc_RuntimeError, "the reading is %s", rd->busy ? "being fed" : "finished");
    }
    if (rd->rows + (size_t)count > UINT32_MAX) {
        Py_DECREF(held);
        return PyErr_Format(PyExc_ValueError, "too many rows");
    }
    rd->busy = 1;
    PyThreadState *released = PyEval_SaveThread();
    int failed = 0;
    for (Py_ssize_t k = 0; k < count && !failed; k++) {
        PyObject *body = PyTuple_GET_ITEM(held, k);
        uint32_t row = (uint32_t)(rd->rows + (size_t)k);
        int r = f_plain_row(&rd->sh, &rd->sc, (const unsigned char *)PyBytes_AS_STRING(body),
                            (size_t)PyBytes_GET_SIZE(body), row, rd->name, &rd->scratch, &rd->scratch_cap);
        if (r == 1) continue;
        if (released != NULL) {
            PyEval_RestoreThread(released);
            released = NULL;
        }
        if (r < 0) {
            PyErr_NoMemory();
            failed = 1;
        } else if (f_careful_row(&rd->sh, careful, body, row) < 0)
            failed = 1;
    }
    if (released != NULL) PyEval_RestoreThread(released);
    rd->busy = 0;
    Py_DECREF(held);
    if (failed) return NULL;
    rd->rows += (size_t)count;
    Py_RETURN_NONE;
}

static PyObject *fields_finish(PyObject *self, PyObject *capsule) {
    (void)self;
    FReading *rd = PyCapsule_GetPointer(capsule, F_CAPSULE);
    if (rd == NULL) return NULL;
    if (rd->busy || rd->finished)
        return PyErr_Format(PyExc_RuntimeError, "the reading is %s", rd->busy ? "being fed" : "finished");
    rd->finished = 1;
    FShred *sh = &rd->sh;
    PyObject *out = PyList_New((Py_ssize_t)sh->nappeared);
    if (out == NULL) return NULL;
    for (size_t k = 0; k < sh->nappeared; k++) {
        PyObject *column = f_build(sh, &sh->cols[sh->appeared[k]], (Py_ssize_t)rd->rows);
        if (column == NULL) {
            Py_DECREF(out);
            return NULL;
        }
        PyList_SET_ITEM(out, (Py_ssize_t)k, column);
    }
    return out;
}

#define FIELDS_METHODS                                                                                             \
    {"fields_new", fields_new, METH_O, "A reading of body fields into columns (wanted: None, or names)."},          \
        {"fields_feed", fields_feed, METH_VARARGS, "Read the next bodies: fields_feed(reading, bodies, careful)."}, \
        {"fields_finish", fields_finish, METH_O, "The columns: [(name, kind, missing, values, text), ...]."},
