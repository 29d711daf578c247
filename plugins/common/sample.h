/* sample.h — "sample records": one WebDataset sample (a key and its named files) as one record (C99, header
 * only, for any plugin).
 *
 * A sample record is a sequence of fields, each
 *     u32 LE name length | name bytes | u64 LE data length | data bytes
 * with nothing between or after them. The first field is named "__key__" and holds the sample's key (a
 * path without extension, "shard/000123"); the others are named by their extension, lower-case ("jpg",
 * "txt", "seg.png"), in the order the sample stores them. Names are unique within a sample.
 *
 * Encoding: sw_sample_append grows a malloc'd buffer by one field; sw_sample_field_size and
 * sw_sample_put_header let a caller size a record first and write the data itself. Decoding:
 * sw_sample_iter walks the fields of a record, checking every length against the record's end. */
#ifndef SW_SAMPLE_H
#define SW_SAMPLE_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SW_SAMPLE_KEY "__key__"
#define SW_SAMPLE_KEY_LEN 7
/* Bytes of a field's framing around its name and data: the u32 name length and the u64 data length. */
#define SW_SAMPLE_FRAMING 12

/* Bytes one field takes, or 0 when that does not fit a size_t (or the name does not fit a u32). */
static inline size_t sw_sample_field_size(size_t name_len, uint64_t data_len)
{
    if ((uint64_t)name_len > UINT32_MAX || data_len > (uint64_t)SIZE_MAX - SW_SAMPLE_FRAMING - name_len)
        return 0;
    return SW_SAMPLE_FRAMING + name_len + (size_t)data_len;
}

/* Writes a field's name length, name and data length at out (12 + name_len bytes); the data_len data bytes
 * go right after, written by the caller. Returns the bytes written. name_len must fit a u32. */
static inline size_t sw_sample_put_header(uint8_t *out, const char *name, size_t name_len, uint64_t data_len)
{
    for (int i = 0; i < 4; i++)
        out[i] = (uint8_t)((uint64_t)name_len >> (8 * i));
    memcpy(out + 4, name, name_len);
    for (int i = 0; i < 8; i++)
        out[4 + name_len + i] = (uint8_t)(data_len >> (8 * i));
    return SW_SAMPLE_FRAMING + name_len;
}

/* Appends one field to the malloc'd buffer *buf holding *len bytes in *cap, growing it (doubling) as needed.
 * Returns 0, or -1 when memory runs out or the sizes overflow; the buffer is unchanged then and still the
 * caller's to free. */
static inline int sw_sample_append(uint8_t **buf, size_t *len, size_t *cap, const char *name, size_t name_len,
                                   const void *data, size_t data_len)
{
    size_t need = sw_sample_field_size(name_len, data_len);
    size_t off;
    if (!need || need > SIZE_MAX - *len)
        return -1;
    if (*len + need > *cap) {
        size_t ncap = *cap ? *cap : 256;
        uint8_t *p;
        while (ncap < *len + need)
            ncap = ncap > SIZE_MAX / 2 ? *len + need : 2 * ncap;
        if (!(p = (uint8_t *)realloc(*buf, ncap)))
            return -1;
        *buf = p;
        *cap = ncap;
    }
    off = *len + sw_sample_put_header(*buf + *len, name, name_len, data_len);
    if (data_len)
        memcpy(*buf + off, data, data_len);
    *len = off + data_len;
    return 0;
}

/* One decoded field: pointers into the record. */
typedef struct sw_sample_field {
    const uint8_t *name;
    size_t name_len;
    const uint8_t *data;
    size_t data_len;
} sw_sample_field;

/* A walk over the fields of one record. */
typedef struct sw_sample_iter {
    const uint8_t *rec;
    size_t len, pos;
    size_t index;      /* fields returned so far */
    const char *error; /* why sw_sample_next returned -1 */
} sw_sample_iter;

static inline void sw_sample_iter_init(sw_sample_iter *it, const uint8_t *rec, size_t len)
{
    it->rec = rec;
    it->len = len;
    it->pos = 0;
    it->index = 0;
    it->error = NULL;
}

/* The next field of the record: 1 with *f set, 0 at the record's end, or -1 with it->error set when the
 * record is malformed: a field cut short, a length reaching past the record's end, or a first field that
 * is not "__key__". Lengths are checked by subtraction, so huge values cannot overflow. */
static inline int sw_sample_next(sw_sample_iter *it, sw_sample_field *f)
{
    size_t left = it->len - it->pos;
    const uint8_t *p = it->rec + it->pos;
    uint64_t nlen = 0, dlen = 0;
    if (!left)
        return it->index ? 0 : (it->error = "empty sample record (no __key__ field)", -1);
    if (left < 4)
        return it->error = "truncated field name length", -1;
    for (int i = 0; i < 4; i++)
        nlen |= (uint64_t)p[i] << (8 * i);
    if (nlen > left - 4 || left - 4 - nlen < 8)
        return it->error = "field name runs past the end of the record", -1;
    for (int i = 0; i < 8; i++)
        dlen |= (uint64_t)p[4 + nlen + i] << (8 * i);
    if (dlen > left - SW_SAMPLE_FRAMING - nlen)
        return it->error = "field data runs past the end of the record", -1;
    f->name = p + 4;
    f->name_len = (size_t)nlen;
    f->data = p + SW_SAMPLE_FRAMING + nlen;
    f->data_len = (size_t)dlen;
    if (it->index == 0 && (nlen != SW_SAMPLE_KEY_LEN || memcmp(f->name, SW_SAMPLE_KEY, SW_SAMPLE_KEY_LEN)))
        return it->error = "the first field is not __key__", -1;
    it->pos += SW_SAMPLE_FRAMING + (size_t)nlen + (size_t)dlen;
    it->index++;
    return 1;
}

#endif
