/* Optional C speedups for the hottest loops of aeroops.formats: WAL framing and document
 * payload decoding. Each function does exactly what its pure-Python twin in wal.py does (the
 * tests run both on the same inputs); when this module is not built, the Python code runs.
 *
 * wal_batch(buf, pos, base, expected, max_length, record_cls, types, max_records)
 *     -> (records, pos, status, sequence)
 *   Frames every whole record of buf from pos on, checks length, CRC-32, type and (when
 *   expected != 0) sequence continuity, and builds a record_cls tuple per record:
 *   (offset = base + start, length, types[type], sequence, payload bytes).
 *   status 0: stopped at the end of buf or an incomplete record (the caller reads more);
 *   1: impossible length at pos; 2: checksum mismatch at pos; 3: unknown type at pos;
 *   4: sequence at pos is `sequence`, not the expected one; 5: max_records built, call again
 *   (a cap on the batch keeps memory small whatever the records' size).
 *
 * decode_document(payload, cls) -> cls(collection, document_id, schema_id, schema_version, body)
 *   Raises ValueError when the five length-prefixed fields do not fill the payload exactly,
 *   UnicodeDecodeError when a text field is not UTF-8.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <zlib.h>

#define WAL_MIN_LENGTH 17 /* length u32 + type u8 + sequence u64 + crc u32 */

static inline uint32_t rd32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t rd64(const unsigned char *p) {
    return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static PyObject *make_record(PyTypeObject *cls, PyObject *type, long long offset, uint32_t length,
                             uint64_t sequence, const unsigned char *payload, Py_ssize_t payload_len) {
    PyObject *record = cls->tp_alloc(cls, 5); /* a tuple subclass: as tuple.__new__ does */
    if (record == NULL) return NULL;
    PyObject *items[5] = {
        PyLong_FromLongLong(offset),
        PyLong_FromUnsignedLong(length),
        type,
        PyLong_FromUnsignedLongLong(sequence),
        PyBytes_FromStringAndSize((const char *)payload, payload_len),
    };
    Py_INCREF(type);
    for (int i = 0; i < 5; i++) {
        if (items[i] == NULL) {
            for (int j = 0; j < 5; j++) Py_XDECREF(items[j]);
            Py_DECREF(record);
            return NULL;
        }
    }
    for (int i = 0; i < 5; i++) PyTuple_SET_ITEM(record, i, items[i]);
    /* It holds only ints, bytes and an enum member: it can be in no reference cycle, so the
     * cyclic GC need not track it (as CPython does for such plain tuples). Millions are made
     * per scan; tracked, they trigger collection after collection. */
    PyObject_GC_UnTrack(record);
    return record;
}

static PyObject *wal_batch(PyObject *self, PyObject *args) {
    Py_buffer view;
    Py_ssize_t pos, max_length, max_records;
    long long base;
    unsigned long long expected;
    PyObject *cls, *types;
    if (!PyArg_ParseTuple(args, "y*nLKnO!O!n", &view, &pos, &base, &expected, &max_length, &PyType_Type, &cls,
                          &PyTuple_Type, &types, &max_records))
        return NULL;
    if (PyTuple_GET_SIZE(types) != 6 || !PyType_IsSubtype((PyTypeObject *)cls, &PyTuple_Type)) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_TypeError, "record_cls must be a tuple subclass and types a 6-tuple");
        return NULL;
    }
    const unsigned char *buf = view.buf;
    Py_ssize_t size = view.len;
    int status = 0;
    uint64_t sequence = 0;
    PyObject *records = PyList_New(0);
    if (records == NULL) goto fail;
    while (pos >= 0 && pos + 4 <= size) {
        if (PyList_GET_SIZE(records) >= max_records) {
            status = 5;
            break;
        }
        uint32_t length = rd32(buf + pos);
        if (length < WAL_MIN_LENGTH || (Py_ssize_t)length > max_length) {
            status = 1;
            break;
        }
        if ((Py_ssize_t)length > size - pos) break; /* incomplete: read more */
        const unsigned char *rec = buf + pos;
        uLong crc = crc32(0L, rec, (uInt)(length - 4));
        if ((uint32_t)crc != rd32(rec + length - 4)) {
            status = 2;
            break;
        }
        unsigned kind = rec[4];
        sequence = rd64(rec + 5);
        if (kind > 5) {
            status = 3;
            break;
        }
        if (expected) {
            if (sequence != expected) {
                status = 4;
                break;
            }
            expected++;
        }
        PyObject *record = make_record((PyTypeObject *)cls, PyTuple_GET_ITEM(types, kind), base + pos, length,
                                       sequence, rec + 13, (Py_ssize_t)length - WAL_MIN_LENGTH);
        if (record == NULL) goto fail;
        int appended = PyList_Append(records, record);
        Py_DECREF(record);
        if (appended < 0) goto fail;
        pos += length;
    }
    PyBuffer_Release(&view);
    return Py_BuildValue("(NniK)", records, pos, status, (unsigned long long)sequence);
fail:
    Py_XDECREF(records);
    PyBuffer_Release(&view);
    return NULL;
}

static PyObject *decode_document(PyObject *self, PyObject *args) {
    Py_buffer view;
    PyObject *cls;
    if (!PyArg_ParseTuple(args, "y*O!", &view, &PyType_Type, &cls)) return NULL;
    const unsigned char *data = view.buf;
    Py_ssize_t size = view.len, pos = 0;
    Py_ssize_t starts[5], lens[5];
    for (int i = 0; i < 5; i++) {
        if (size - pos < 4) goto bad;
        uint32_t n = rd32(data + pos);
        pos += 4;
        if ((Py_ssize_t)n > size - pos) goto bad;
        starts[i] = pos;
        lens[i] = n;
        pos += n;
    }
    if (pos != size) goto bad;
    PyObject *fields[5] = {NULL, NULL, NULL, NULL, NULL};
    for (int i = 0; i < 4; i++) {
        fields[i] = PyUnicode_DecodeUTF8((const char *)data + starts[i], lens[i], "strict");
        if (fields[i] == NULL) goto fail_fields;
    }
    fields[4] = PyBytes_FromStringAndSize((const char *)data + starts[4], lens[4]);
    if (fields[4] == NULL) goto fail_fields;
    PyBuffer_Release(&view);
    PyTypeObject *tp = (PyTypeObject *)cls;
    PyObject *result = tp->tp_alloc(tp, 5);
    if (result == NULL) {
        for (int i = 0; i < 5; i++) Py_DECREF(fields[i]);
        return NULL;
    }
    for (int i = 0; i < 5; i++) PyTuple_SET_ITEM(result, i, fields[i]);
    PyObject_GC_UnTrack(result); /* str and bytes only: see make_record */
    return result;
fail_fields:
    for (int i = 0; i < 5; i++) Py_XDECREF(fields[i]);
    PyBuffer_Release(&view);
    return NULL;
bad:
    PyBuffer_Release(&view);
    PyErr_SetString(PyExc_ValueError, "fields do not fill the payload");
    return NULL;
}

static PyMethodDef methods[] = {
    {"wal_batch", wal_batch, METH_VARARGS, "Frame and check WAL records in a buffer."},
    {"decode_document", decode_document, METH_VARARGS, "Decode an insert/update/delete payload."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "aeroops.formats._speedups", NULL, -1, methods};

PyMODINIT_FUNC PyInit__speedups(void) { return PyModule_Create(&module); }
