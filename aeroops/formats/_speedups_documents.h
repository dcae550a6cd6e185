/* The documents of a storage file plus a WAL after AeroDB's boot rules (DESIGN.md §8), in C:
 * included by _speedups.c (one extension), used by aeroops.formats.doc_index. Two passes over
 * the records' bytes, fed a buffer at a time by the caller (who joins a record that straddles
 * two buffers):
 *
 * doc_index_new() -> index (a capsule)
 * doc_index_feed(index, buf, pos, wal, check_crc) -> (pos, status)
 *   (Without the interpreter's lock while it walks: one thread at a time per index.)
 *   Walks the whole storage records (wal=0) or WAL records (wal=1) of buf from pos, numbering
 *   them as the Python picker does (storage records from 0, WAL records from 0, every type
 *   counted), and keeps per key only where its last record is (a place: ordinal * 2 + wal), or
 *   that it is deleted (a storage tombstone, a WAL delete). No body is kept or copied.
 *   status: DOC_MORE (the end of buf or an incomplete record: feed more), DOC_ODD (anything
 *   the clean-archive path does not handle: an impossible length, a CRC that does not match
 *   when checked, fields that do not fill a record, text that is not UTF-8, an unknown WAL
 *   type, a storage record after WAL records). The caller then reads the source the careful
 *   way, which names the damage exactly as before.
 * doc_index_wal(...): a point in time's WAL, sequences checked, up to a record (see below).
 * doc_index_winners(index, collections) -> (storage places, WAL places, counts)
 *   The ordinals of the winning records of the live documents of `collections` (a set of str,
 *   or None for all), each side sorted, as little-endian u64 bytes; counts: live documents per
 *   collection (all collections). Frees the table.
 * doc_pick(buf, pos, ordinal, wanted, index, wal, cls, max_docs)
 *     -> (documents, pos, ordinal, index, status)
 *   The second pass: walks the records of buf from pos (the first numbered `ordinal`), and for
 *   each whose ordinal is wanted[index] (u64 bytes, sorted) builds cls(collection, key,
 *   schema, version, body) after checking its CRC and fields. status: DOC_MORE, DOC_ODD (the
 *   record at pos: it changed since the first pass), DOC_FULL (max_docs built: call again),
 *   DOC_DONE (every wanted record was built: read no further).
 */

#include <sys/mman.h>

enum doc_status { DOC_MORE = 0, DOC_ODD = 1, DOC_FULL = 2, DOC_DONE = 3 };

#define DOC_STORAGE_MIN 25
#define DOC_WAL_MIN 17
#define DOC_MAX_LENGTH (256u << 20) /* framing.MAX_RECORD_LENGTH */
#define DOC_DEAD (-1)

/* A slot: 16 bytes, so the table's random probes touch as few cache lines as they can. The
 * key lives in the arena at `off` (0: an empty slot): u32 collection length | u32 id length |
 * collection | document id. */
typedef struct {
    uint32_t tag; /* the hash's high half */
    uint32_t off;
    int64_t place; /* DOC_DEAD, or ordinal * 2 + wal */
} DocSlot;

typedef struct {
    DocSlot *slots;
    size_t cap, used; /* cap: a power of two */
    unsigned char *arena;
    size_t arena_len, arena_cap;
    uint64_t storage_count, wal_count;
} DocIndex;

static const char *DOC_CAPSULE = "aeroops.DocIndex";

/* The table and the arena are mapped, not malloc'd: tens of megabytes, grown by doubling on a
 * thread of their own, which malloc would keep in that thread's arena once freed (resident:
 * the export's peak RSS). A mapping goes back to the system when unmapped. Zero-filled. */
static void *doc_map(size_t size) {
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

static void doc_unmap(void *p, size_t size) {
    if (p != NULL) munmap(p, size);
}

static void doc_index_free(DocIndex *ix) {
    doc_unmap(ix->slots, ix->cap * sizeof(DocSlot));
    doc_unmap(ix->arena, ix->arena_cap);
    ix->slots = NULL;
    ix->arena = NULL;
    ix->cap = ix->used = ix->arena_len = ix->arena_cap = 0;
}

static void doc_capsule_destroy(PyObject *capsule) {
    DocIndex *ix = PyCapsule_GetPointer(capsule, DOC_CAPSULE);
    if (ix != NULL) {
        doc_index_free(ix);
        PyMem_RawFree(ix);
    }
}

static uint64_t doc_mix(uint64_t h, const unsigned char *p, size_t n) {
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = (h ^ w) * 0xFF51AFD7ED558CCDull;
        h ^= h >> 32;
        p += 8;
        n -= 8;
    }
    uint64_t w = 0;
    memcpy(&w, p, n);
    h = (h ^ w ^ ((uint64_t)n << 56)) * 0xC4CEB9FE1A85EC53ull;
    return h ^ (h >> 29);
}

static uint64_t doc_hash(const unsigned char *c, size_t clen, const unsigned char *id, size_t idlen) {
    return doc_mix(doc_mix(0x9E3779B97F4A7C15ull ^ clen, c, clen), id, idlen);
}

/* Strict UTF-8, as Python's decoder: no overlongs, no surrogates, nothing past U+10FFFF. */
static int doc_utf8(const unsigned char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        if (i + 8 <= n) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (!(w & 0x8080808080808080ull)) {
                i += 8;
                continue;
            }
        }
        unsigned c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t need;
        unsigned lo = 0x80, hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF) need = 1;
        else if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            if (c == 0xE0) lo = 0xA0;
            if (c == 0xED) hi = 0x9F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3;
            if (c == 0xF0) lo = 0x90;
            if (c == 0xF4) hi = 0x8F;
        } else return 0;
        if (i + need >= n) return 0;
        if (s[i + 1] < lo || s[i + 1] > hi) return 0;
        for (size_t k = 2; k <= need; k++)
            if (s[i + k] < 0x80 || s[i + k] > 0xBF) return 0;
        i += need + 1;
    }
    return 1;
}

static int doc_grow(DocIndex *ix) {
    size_t cap = ix->cap ? ix->cap * 2 : (1u << 16);
    DocSlot *slots = doc_map(cap * sizeof(DocSlot));
    if (slots == NULL) return -1;
    for (size_t i = 0; i < ix->cap; i++) {
        DocSlot *s = &ix->slots[i];
        if (!s->off) continue;
        const unsigned char *key = ix->arena + s->off;
        uint32_t clen, idlen;
        memcpy(&clen, key, 4);
        memcpy(&idlen, key + 4, 4);
        size_t j = doc_hash(key + 8, clen, key + 8 + clen, idlen) & (cap - 1);
        while (slots[j].off) j = (j + 1) & (cap - 1);
        slots[j] = *s;
    }
    doc_unmap(ix->slots, ix->cap * sizeof(DocSlot));
    ix->slots = slots;
    ix->cap = cap;
    return 0;
}

/* A record's key and place, between hashing (and prefetching its slot) and setting it. */
typedef struct {
    const unsigned char *c, *id;
    uint32_t clen, idlen;
    uint64_t hash;
    int64_t place;
} DocPending;

/* Sets the key's place (or DOC_DEAD). -1: out of memory; -2: an arena past 4 GiB (odd). */
static int doc_set(DocIndex *ix, const DocPending *p) {
    uint32_t tag = (uint32_t)(p->hash >> 32);
    size_t j = p->hash & (ix->cap - 1);
    for (;;) {
        DocSlot *s = &ix->slots[j];
        if (!s->off) break;
        if (s->tag == tag) {
            const unsigned char *key = ix->arena + s->off;
            uint32_t clen, idlen;
            memcpy(&clen, key, 4);
            memcpy(&idlen, key + 4, 4);
            if (clen == p->clen && idlen == p->idlen && memcmp(key + 8, p->c, clen) == 0 &&
                memcmp(key + 8 + clen, p->id, idlen) == 0) {
                s->place = p->place;
                return 0;
            }
        }
        j = (j + 1) & (ix->cap - 1);
    }
    size_t len = 8 + (size_t)p->clen + p->idlen;
    if (ix->arena_len + len > UINT32_MAX) return -2;
    if (ix->arena_len + len > ix->arena_cap) {
        size_t cap = ix->arena_cap ? ix->arena_cap * 2 : (1u << 20);
        while (cap < ix->arena_len + len) cap *= 2;
        unsigned char *arena = doc_map(cap);
        if (arena == NULL) return -1;
        if (ix->arena != NULL) memcpy(arena, ix->arena, ix->arena_len);
        doc_unmap(ix->arena, ix->arena_cap);
        ix->arena = arena;
        ix->arena_cap = cap;
    }
    if (!ix->arena_len) ix->arena_len = 8; /* offset 0 marks an empty slot */
    unsigned char *key = ix->arena + ix->arena_len;
    memcpy(key, &p->clen, 4);
    memcpy(key + 4, &p->idlen, 4);
    memcpy(key + 8, p->c, p->clen);
    memcpy(key + 8 + p->clen, p->id, p->idlen);
    DocSlot *s = &ix->slots[j];
    s->tag = tag;
    s->off = (uint32_t)ix->arena_len;
    s->place = p->place;
    ix->arena_len += len;
    ix->used++;
    return 0;
}

/* The length-prefixed fields of data[0:size]: their starts and lengths; 0 when they do not fit. */
static int doc_fields(const unsigned char *data, Py_ssize_t size, int count, Py_ssize_t *starts, Py_ssize_t *lens,
                      Py_ssize_t *end) {
    Py_ssize_t pos = 0;
    for (int i = 0; i < count; i++) {
        if (size - pos < 4) return 0;
        uint32_t n = rd32(data + pos);
        pos += 4;
        if ((Py_ssize_t)n > size - pos) return 0;
        starts[i] = pos;
        lens[i] = n;
        pos += n;
    }
    *end = pos;
    return 1;
}

/* One record at rec (its whole length known to be in the buffer), parsed: the collection, the
 * document id, schema, version and body (spans of rec), whether it is a document change or a
 * tombstone / delete. Returns 0 for a record the clean path does not take; 1 for a document
 * record; 2 for a WAL record of another type (MVCC: counted, ignored). */
typedef struct {
    const unsigned char *collection, *id, *schema, *version, *body;
    Py_ssize_t collection_len, id_len, schema_len, version_len, body_len;
    int dead;
} DocRecord;

static int doc_parse(const unsigned char *rec, uint32_t length, int wal, int check_crc, DocRecord *out) {
    if (check_crc && record_crc32(rec, length - 4) != rd32(rec + length - 4)) return 0;
    Py_ssize_t starts[5], lens[5], end;
    const unsigned char *data;
    if (wal) {
        unsigned kind = rec[4];
        if (kind > 5) return 0;
        if (kind > 2) return 2;
        data = rec + 13;
        Py_ssize_t size = (Py_ssize_t)length - DOC_WAL_MIN;
        if (!doc_fields(data, size, 5, starts, lens, &end) || end != size) return 0;
        for (int f = 0; f < 4; f++)
            if (!doc_utf8(data + starts[f], (size_t)lens[f])) return 0;
        out->collection = data + starts[0];
        out->collection_len = lens[0];
        out->id = data + starts[1];
        out->id_len = lens[1];
        out->schema = data + starts[2];
        out->schema_len = lens[2];
        out->version = data + starts[3];
        out->version_len = lens[3];
        out->body = data + starts[4];
        out->body_len = lens[4];
        out->dead = kind == 2;
        return 1;
    }
    data = rec + 4;
    Py_ssize_t size = (Py_ssize_t)length - 8;
    if (!doc_fields(data, size, 3, starts, lens, &end) || end >= size) return 0;
    int tombstone = data[end] != 0;
    Py_ssize_t body_start, body_len, body_end;
    if (!doc_fields(data + end + 1, size - end - 1, 1, &body_start, &body_len, &body_end) ||
        end + 1 + body_end != size)
        return 0;
    for (int f = 0; f < 3; f++)
        if (!doc_utf8(data + starts[f], (size_t)lens[f])) return 0;
    const unsigned char *key = data + starts[0];
    const unsigned char *colon = memchr(key, ':', (size_t)lens[0]);
    out->collection = key;
    out->collection_len = colon == NULL ? lens[0] : colon - key;
    out->id = colon == NULL ? key + lens[0] : colon + 1;
    out->id_len = colon == NULL ? 0 : lens[0] - (colon + 1 - key);
    out->schema = data + starts[1];
    out->schema_len = lens[1];
    out->version = data + starts[2];
    out->version_len = lens[2];
    out->body = data + end + 1 + body_start;
    out->body_len = body_len;
    out->dead = tombstone;
    return 1;
}

#define DOC_INCOMPLETE (-1)

/* The length of the record at pos: DOC_INCOMPLETE when buf does not hold all of it yet, 0 for
 * a length no record of this file can have. */
static inline int64_t doc_frame(const unsigned char *buf, Py_ssize_t pos, Py_ssize_t size, uint32_t min) {
    uint32_t length = rd32(buf + pos);
    if (length < min || length > DOC_MAX_LENGTH) return 0;
    if ((Py_ssize_t)length > size - pos) return DOC_INCOMPLETE;
    return length;
}

/* The record at pos, framed and parsed into *out (doc_parse's kind: 0 for an odd one), or
 * DOC_INCOMPLETE; *length is its length. */
static inline int doc_next(const unsigned char *buf, Py_ssize_t pos, Py_ssize_t size, uint32_t min, int wal,
                           int check_crc, uint32_t *length, DocRecord *out) {
    int64_t framed = doc_frame(buf, pos, size, min);
    if (framed <= 0) return (int)framed;
    *length = (uint32_t)framed;
    return doc_parse(buf + pos, *length, wal, check_crc, out);
}

static PyObject *doc_index_new(PyObject *self, PyObject *unused) {
    DocIndex *ix = PyMem_RawCalloc(1, sizeof(DocIndex));
    if (ix == NULL) return PyErr_NoMemory();
    PyObject *capsule = PyCapsule_New(ix, DOC_CAPSULE, doc_capsule_destroy);
    if (capsule == NULL) PyMem_RawFree(ix);
    return capsule;
}

#define DOC_PIPE 16 /* records hashed, their slots then their keys prefetched, before they are set */

/* A document record's key and place, hashed, its slot prefetched. */
static inline void doc_pend(DocIndex *ix, DocPending *p, const DocRecord *r, uint64_t ordinal, int wal) {
    p->c = r->collection;
    p->clen = (uint32_t)r->collection_len;
    p->id = r->id;
    p->idlen = (uint32_t)r->id_len;
    p->hash = doc_hash(p->c, p->clen, p->id, p->idlen);
    p->place = r->dead ? DOC_DEAD : (int64_t)(ordinal * 2 + (wal ? 1 : 0));
    __builtin_prefetch(&ix->slots[p->hash & (ix->cap - 1)], 1);
}

/* The pending records set in the table (doc_set's result: 0, or why not). */
static int doc_settle(DocIndex *ix, const DocPending *pending, int n) {
    for (int i = 0; i < n; i++) { /* their slots are in cache by now: prefetch the keys they hold */
        const DocSlot *slot = &ix->slots[pending[i].hash & (ix->cap - 1)];
        if (slot->off && slot->tag == (uint32_t)(pending[i].hash >> 32)) __builtin_prefetch(ix->arena + slot->off);
    }
    for (int i = 0; i < n; i++) {
        int failed = doc_set(ix, &pending[i]);
        if (failed) return failed;
    }
    return 0;
}

static PyObject *doc_index_feed(PyObject *self, PyObject *args) {
    PyObject *capsule;
    Py_buffer view;
    Py_ssize_t pos;
    int wal, check_crc;
    if (!PyArg_ParseTuple(args, "Oy*npp", &capsule, &view, &pos, &wal, &check_crc)) return NULL;
    DocIndex *ix = PyCapsule_GetPointer(capsule, DOC_CAPSULE);
    if (ix == NULL) {
        PyBuffer_Release(&view);
        return NULL;
    }
    const unsigned char *buf = view.buf;
    Py_ssize_t size = view.len;
    int status = DOC_MORE, failed = 0;
    uint32_t min = wal ? DOC_WAL_MIN : DOC_STORAGE_MIN;
    if (!wal && ix->wal_count) status = DOC_ODD; /* storage after the WAL: not an archive's order */
    DocPending pending[DOC_PIPE];
    /* Only C from here to the result: the interpreter's lock is let go, so the index can be
     * built on a thread of its own beside the verify pass (raw allocation needs no lock). */
    Py_BEGIN_ALLOW_THREADS
    while (status == DOC_MORE && !failed) {
        if ((ix->used + DOC_PIPE) * 2 > ix->cap && doc_grow(ix) < 0) {
            failed = -1;
            break;
        }
        int n = 0;
        while (n < DOC_PIPE && pos >= 0 && size - pos >= 4) {
            uint32_t length;
            DocRecord r;
            int kind = doc_next(buf, pos, size, min, wal, check_crc, &length, &r);
            if (kind == DOC_INCOMPLETE) break;
            if (kind == 0) {
                status = DOC_ODD;
                break;
            }
            uint64_t ordinal = wal ? ix->wal_count++ : ix->storage_count++;
            pos += length;
            if (kind != 1) continue;
            doc_pend(ix, &pending[n++], &r, ordinal, wal);
        }
        failed = doc_settle(ix, pending, n);
        if (n < DOC_PIPE) break; /* the end of the buffer, or odd */
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    if (failed == -1) return PyErr_NoMemory();
    if (failed) status = DOC_ODD;
    return Py_BuildValue("(ni)", pos, status);
}

/* doc_index_wal(index, buf, pos, expected, upto, index_them, crc_upto, crc, check_crc)
 *     -> (pos, expected, crc, status)
 *   A point in time's WAL (a base archive's, or a segment: documents.read_plan's reading):
 *   walks the whole WAL records of buf from pos as doc_index_feed does, each one's sequence
 *   `expected` (then the next), indexing those up to sequence `upto` when index_them (numbered
 *   on from the index's WAL records) and folding those up to crc_upto (<= upto) into crc as
 *   documents._record_crc does (the one-history check). The record after `upto` is checked
 *   (framing, CRC when check_crc, type, sequence), as the careful reader checks it before it
 *   stops, and ends the walk: DOC_DONE, pos after it. DOC_MORE, DOC_ODD as doc_index_feed. */
static PyObject *doc_index_wal(PyObject *self, PyObject *args) {
    PyObject *capsule;
    Py_buffer view;
    Py_ssize_t pos;
    unsigned long long expected, upto, crc_upto;
    unsigned int crc;
    int index_them, check_crc;
    if (!PyArg_ParseTuple(args, "Oy*nKKpKIp", &capsule, &view, &pos, &expected, &upto, &index_them, &crc_upto, &crc,
                          &check_crc))
        return NULL;
    DocIndex *ix = PyCapsule_GetPointer(capsule, DOC_CAPSULE);
    if (ix == NULL) {
        PyBuffer_Release(&view);
        return NULL;
    }
    const unsigned char *buf = view.buf;
    Py_ssize_t size = view.len;
    int status = DOC_MORE, failed = 0;
    DocPending pending[DOC_PIPE];
    Py_BEGIN_ALLOW_THREADS
    while (status == DOC_MORE && !failed) {
        if ((ix->used + DOC_PIPE) * 2 > ix->cap && doc_grow(ix) < 0) {
            failed = -1;
            break;
        }
        int n = 0, walked = 0;
        while (walked < DOC_PIPE && pos >= 0 && size - pos >= 4) {
            int64_t framed = doc_frame(buf, pos, size, DOC_WAL_MIN);
            if (framed == DOC_INCOMPLETE) break;
            const unsigned char *rec = buf + pos;
            uint32_t length = (uint32_t)framed;
            uint64_t sequence = framed > 0 ? rd64(rec + 5) : 0;
            if (framed == 0 || sequence != expected || expected == UINT64_MAX) {
                status = DOC_ODD;
                break;
            }
            walked++;
            if (sequence <= upto && index_them) {
                DocRecord r;
                int kind = doc_parse(rec, length, 1, check_crc, &r);
                if (kind == 0) {
                    status = DOC_ODD;
                    break;
                }
                uint64_t ordinal = ix->wal_count++;
                if (kind == 1) doc_pend(ix, &pending[n++], &r, ordinal, 1);
            } else if (rec[4] > 5 || (check_crc && record_crc32(rec, length - 4) != rd32(rec + length - 4))) {
                status = DOC_ODD;
                break;
            }
            if (sequence <= crc_upto) {
                unsigned char head[9];
                memcpy(head, rec + 5, 8); /* the sequence, little-endian, then the type */
                head[8] = rec[4];
                crc = crc_impl(crc, head, 9);
                crc = crc_impl(crc, rec + 13, (uint64_t)length - DOC_WAL_MIN);
            }
            expected++;
            pos += length;
            if (sequence > upto) {
                status = DOC_DONE;
                break;
            }
        }
        failed = doc_settle(ix, pending, n);
        if (walked < DOC_PIPE) break; /* the end of the buffer, odd or done */
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    if (failed == -1) return PyErr_NoMemory();
    if (failed) status = DOC_ODD;
    return Py_BuildValue("(nKIi)", pos, expected, crc, status);
}

static int doc_cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

#define DOC_COLLECTIONS 64 /* distinct collections counted in C; past these, in a dict */

static PyObject *doc_index_winners(PyObject *self, PyObject *args) {
    PyObject *capsule, *chosen;
    if (!PyArg_ParseTuple(args, "OO", &capsule, &chosen)) return NULL;
    DocIndex *ix = PyCapsule_GetPointer(capsule, DOC_CAPSULE);
    if (ix == NULL) return NULL;
    if (chosen != Py_None && !PyAnySet_Check(chosen)) {
        PyErr_SetString(PyExc_TypeError, "collections: a set or None");
        return NULL;
    }
    uint64_t *sides[2] = {PyMem_RawMalloc((ix->used + 1) * 8), PyMem_RawMalloc((ix->used + 1) * 8)};
    size_t n[2] = {0, 0};
    struct {
        const unsigned char *name;
        uint32_t len;
        int chosen;
        PyObject *text;
        Py_ssize_t count;
    } cols[DOC_COLLECTIONS];
    int ncols = 0;
    PyObject *counts = PyDict_New(), *result = NULL;
    if (sides[0] == NULL || sides[1] == NULL || counts == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (size_t i = 0; i < ix->cap; i++) {
        DocSlot *s = &ix->slots[i];
        if (!s->off || s->place == DOC_DEAD) continue;
        const unsigned char *key = ix->arena + s->off;
        uint32_t clen;
        memcpy(&clen, key, 4);
        int c = 0;
        while (c < ncols && (cols[c].len != clen || memcmp(cols[c].name, key + 8, clen) != 0)) c++;
        if (c == ncols) {
            if (ncols == DOC_COLLECTIONS) {
                PyErr_SetString(PyExc_OverflowError, "more collections than the index counts");
                goto done;
            }
            PyObject *text = PyUnicode_DecodeUTF8((const char *)key + 8, clen, "strict");
            if (text == NULL) goto done;
            int in = chosen == Py_None ? 1 : PySet_Contains(chosen, text);
            if (in < 0) {
                Py_DECREF(text);
                goto done;
            }
            cols[c].name = key + 8;
            cols[c].len = clen;
            cols[c].chosen = in;
            cols[c].text = text;
            cols[c].count = 0;
            ncols++;
        }
        cols[c].count++;
        if (!cols[c].chosen) continue;
        int wal = (int)(s->place & 1);
        sides[wal][n[wal]++] = (uint64_t)(s->place >> 1);
    }
    for (int c = 0; c < ncols; c++) {
        PyObject *count = PyLong_FromSsize_t(cols[c].count);
        if (count == NULL || PyDict_SetItem(counts, cols[c].text, count) < 0) {
            Py_XDECREF(count);
            goto done;
        }
        Py_DECREF(count);
    }
    for (int w = 0; w < 2; w++) qsort(sides[w], n[w], 8, doc_cmp_u64);
    result = Py_BuildValue("(y#y#O)", (const char *)sides[0], (Py_ssize_t)(n[0] * 8), (const char *)sides[1],
                           (Py_ssize_t)(n[1] * 8), counts);
    doc_index_free(ix);
done:
    for (int c = 0; c < ncols; c++) Py_DECREF(cols[c].text);
    Py_XDECREF(counts);
    PyMem_RawFree(sides[0]);
    PyMem_RawFree(sides[1]);
    return result;
}

static PyObject *doc_pick(PyObject *self, PyObject *args) {
    Py_buffer view, wanted;
    Py_ssize_t pos, index, max_docs;
    unsigned long long ordinal;
    int wal;
    PyObject *cls;
    if (!PyArg_ParseTuple(args, "y*nKy*npO!n", &view, &pos, &ordinal, &wanted, &index, &wal, &PyType_Type, &cls,
                          &max_docs))
        return NULL;
    const unsigned char *buf = view.buf;
    const uint64_t *want = wanted.buf;
    Py_ssize_t size = view.len, count = wanted.len / 8;
    int status = DOC_MORE;
    uint32_t min = wal ? DOC_WAL_MIN : DOC_STORAGE_MIN;
    PyObject *docs = PyList_New(0);
    if (docs == NULL) goto fail;
    while (pos >= 0 && size - pos >= 4) {
        if (index >= count) {
            status = DOC_DONE; /* nothing more is wanted from this side */
            break;
        }
        if (PyList_GET_SIZE(docs) >= max_docs) {
            status = DOC_FULL;
            break;
        }
        int64_t framed = doc_frame(buf, pos, size, min);
        if (framed == DOC_INCOMPLETE) break;
        if (framed == 0) {
            status = DOC_ODD;
            break;
        }
        uint32_t length = (uint32_t)framed;
        if (want[index] == ordinal) {
            DocRecord r;
            if (doc_parse(buf + pos, length, wal, 1, &r) != 1 || r.dead) {
                status = DOC_ODD;
                break;
            }
            PyObject *fields[5] = {
                decode_text((const char *)r.collection, r.collection_len, &text_cache[0]),
                PyUnicode_DecodeUTF8((const char *)r.id, r.id_len, "strict"),
                decode_text((const char *)r.schema, r.schema_len, &text_cache[1]),
                decode_text((const char *)r.version, r.version_len, &text_cache[2]),
                PyBytes_FromStringAndSize((const char *)r.body, r.body_len),
            };
            PyObject *doc = NULL;
            if (fields[0] && fields[1] && fields[2] && fields[3] && fields[4])
                doc = ((PyTypeObject *)cls)->tp_alloc((PyTypeObject *)cls, 5);
            if (doc == NULL) {
                for (int f = 0; f < 5; f++) Py_XDECREF(fields[f]);
                goto fail;
            }
            for (int f = 0; f < 5; f++) PyTuple_SET_ITEM(doc, f, fields[f]);
            PyObject_GC_UnTrack(doc);
            int appended = PyList_Append(docs, doc);
            Py_DECREF(doc);
            if (appended < 0) goto fail;
            index++;
        }
        ordinal++;
        pos += length;
    }
    PyBuffer_Release(&view);
    PyBuffer_Release(&wanted);
    return Py_BuildValue("(NnKni)", docs, pos, ordinal, index, status);
fail:
    Py_XDECREF(docs);
    PyBuffer_Release(&view);
    PyBuffer_Release(&wanted);
    return NULL;
}

/* doc_match(buf, pos, wal, collection, id, check_crc, cls) -> (pos, status, matches)
 *   One document's records (history reads many archives for one key): walks the whole records
 *   of buf from pos as doc_index_feed does (DOC_MORE, DOC_ODD), and lists those of the key
 *   (collection, id: bytes) as (dead, cls(collection, key, schema, version, body) or None). */
static PyObject *doc_match(PyObject *self, PyObject *args) {
    Py_buffer view;
    Py_ssize_t pos;
    int wal, check_crc;
    const char *coll, *id;
    Py_ssize_t coll_len, id_len;
    PyObject *cls;
    if (!PyArg_ParseTuple(args, "y*npy#y#pO!", &view, &pos, &wal, &coll, &coll_len, &id, &id_len, &check_crc,
                          &PyType_Type, &cls))
        return NULL;
    const unsigned char *buf = view.buf;
    Py_ssize_t size = view.len;
    int status = DOC_MORE;
    uint32_t min = wal ? DOC_WAL_MIN : DOC_STORAGE_MIN;
    PyObject *matches = PyList_New(0);
    if (matches == NULL) goto fail;
    while (pos >= 0 && size - pos >= 4) {
        uint32_t length;
        DocRecord r;
        int kind = doc_next(buf, pos, size, min, wal, check_crc, &length, &r);
        if (kind == DOC_INCOMPLETE) break;
        if (kind == 0) {
            status = DOC_ODD;
            break;
        }
        if (kind == 1 && r.collection_len == coll_len && r.id_len == id_len &&
            memcmp(r.collection, coll, (size_t)coll_len) == 0 && memcmp(r.id, id, (size_t)id_len) == 0) {
            PyObject *doc = Py_None;
            Py_INCREF(doc);
            if (!r.dead) {
                Py_DECREF(doc);
                doc = PyObject_CallFunction(cls, "s#s#s#s#y#", (const char *)r.collection, r.collection_len,
                                            (const char *)r.id, r.id_len, (const char *)r.schema, r.schema_len,
                                            (const char *)r.version, r.version_len, (const char *)r.body, r.body_len);
                if (doc == NULL) goto fail;
            }
            PyObject *match = Py_BuildValue("(NN)", PyBool_FromLong(r.dead), doc);
            if (match == NULL || PyList_Append(matches, match) < 0) {
                Py_XDECREF(match);
                goto fail;
            }
            Py_DECREF(match);
        }
        pos += length;
    }
    PyBuffer_Release(&view);
    return Py_BuildValue("(niN)", pos, status, matches);
fail:
    Py_XDECREF(matches);
    PyBuffer_Release(&view);
    return NULL;
}

#define DOCUMENT_METHODS                                                                                         \
    {"doc_index_new", doc_index_new, METH_NOARGS, "A new index of live documents (a capsule)."},              \
        {"doc_index_feed", doc_index_feed, METH_VARARGS, "Index the storage or WAL records of a buffer."},     \
        {"doc_index_winners", doc_index_winners, METH_VARARGS, "The winning records' ordinals, and counts."}, \
        {"doc_pick", doc_pick, METH_VARARGS, "Build the documents of the wanted records of a buffer."},        \
        {"doc_match", doc_match, METH_VARARGS, "The records of one document in a buffer."},                   \
        {"doc_index_wal", doc_index_wal, METH_VARARGS, "Index a point in time's WAL records, sequences checked."},
