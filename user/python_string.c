// SPDX-License-Identifier: MIT
#include "python_string.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "remote_memory.h"

/* PyASCIIObject.state bits, the same from 3.3 to 3.14:
 * interned:2, kind:3, compact:1, ascii:1, then ready/statically_allocated */
#define STATE_KIND(s) (((s) >> 2) & 7u)
#define STATE_COMPACT(s) (((s) >> 5) & 1u)
#define STATE_ASCII(s) (((s) >> 6) & 1u)

size_t python_str_header_size(const struct py_layout *layout)
{
	/* legacy strings keep their data pointer right after the compact part */
	return (size_t)layout->unicode_compact_size + 8;
}

int python_str_shape(const struct py_layout *layout, const uint8_t *hdr, size_t len,
		     struct python_str_shape *shape)
{
	int64_t length;
	uint32_t state;

	if (layout->unicode_length < 0 || layout->unicode_state < 0 ||
	    (size_t)layout->unicode_length + 8 > len || (size_t)layout->unicode_state + 4 > len)
		return -EINVAL;
	memcpy(&length, hdr + layout->unicode_length, sizeof(length));
	memcpy(&state, hdr + layout->unicode_state, sizeof(state));

	if (length < 0)
		return -EINVAL;
	shape->length = (uint64_t)length;
	shape->kind = STATE_KIND(state);
	shape->data_pointer_offset = layout->unicode_compact_size;
	/* a legacy string (a str subclass instance) may be ASCII too */
	if (STATE_ASCII(state) && shape->kind != 1)
		return -EINVAL;
	if (!STATE_COMPACT(state))
		shape->data_offset = -1;
	else if (STATE_ASCII(state))
		shape->data_offset = layout->unicode_ascii_size;
	else
		shape->data_offset = layout->unicode_compact_size;
	if (shape->kind != 1 && shape->kind != 2 && shape->kind != 4)
		return -EINVAL;
	return 0;
}

static size_t put_utf8(uint32_t cp, char *out)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp >= 0xd800 && cp <= 0xdfff)
		cp = 0xfffd;
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	if (cp > 0x10ffff)
		return put_utf8(0xfffd, out);
	out[0] = (char)(0xf0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

size_t python_chars_to_utf8(unsigned int kind, const uint8_t *chars, size_t n, char *out,
			    size_t out_size)
{
	size_t used = 0, i;
	char tmp[4];

	if (!out_size)
		return 0;
	for (i = 0; i < n; i++) {
		uint32_t cp;
		size_t w;

		if (kind == 1) {
			cp = chars[i];
		} else if (kind == 2) {
			uint16_t u;

			memcpy(&u, chars + 2 * i, 2);
			cp = u;
		} else {
			memcpy(&cp, chars + 4 * i, 4);
		}
		w = put_utf8(cp, tmp);
		if (used + w + 1 > out_size)
			break;
		memcpy(out + used, tmp, w);
		used += w;
	}
	out[used] = '\0';
	return used;
}

char *python_str_read(pid_t pid, const struct py_layout *layout, uint64_t addr)
{
	uint8_t hdr[256];
	size_t hsize = python_str_header_size(layout), n;
	struct python_str_shape shape;
	uint64_t data;
	uint8_t *chars;
	char *out;
	ssize_t got;
	int err;

	if (hsize > sizeof(hdr)) {
		errno = EINVAL;
		return NULL;
	}
	/* a short str may end before the header size: accept a partial read */
	got = remote_read_some(pid, addr, hdr, hsize);
	if (got < 0) {
		errno = (int)-got;
		return NULL;
	}
	memset(hdr + got, 0, hsize - got);
	err = python_str_shape(layout, hdr, got, &shape);
	if (err) {
		errno = -err;
		return NULL;
	}
	if (shape.data_offset >= 0) {
		data = addr + shape.data_offset;
	} else if ((size_t)shape.data_pointer_offset + 8 <= (size_t)got) {
		memcpy(&data, hdr + shape.data_pointer_offset, 8);
	} else {
		errno = EFAULT;
		return NULL;
	}

	n = shape.length < PYTHON_STR_MAX_CHARS ? shape.length : PYTHON_STR_MAX_CHARS;
	chars = malloc(n * shape.kind + 1);
	out = malloc(n * 4 + 1);
	if (!chars || !out)
		goto fail;
	err = remote_read(pid, data, chars, n * shape.kind);
	if (err) {
		errno = -err;
		goto fail;
	}
	python_chars_to_utf8(shape.kind, chars, n, out, n * 4 + 1);
	free(chars);
	return out;
fail:
	free(chars);
	free(out);
	return NULL;
}

uint8_t *python_bytes_read(pid_t pid, const struct py_layout *layout, uint64_t addr, size_t *len)
{
	int64_t size;
	uint8_t *buf;
	int err;

	if (layout->bytes_size < 0 || layout->bytes_sval < 0) {
		errno = EINVAL;
		return NULL;
	}
	err = remote_read(pid, addr + layout->bytes_size, &size, sizeof(size));
	if (err) {
		errno = -err;
		return NULL;
	}
	if (size < 0 || size > PYTHON_BYTES_MAX) {
		errno = EINVAL;
		return NULL;
	}
	buf = malloc(size ? size : 1);
	if (!buf)
		return NULL;
	err = remote_read(pid, addr + layout->bytes_sval, buf, size);
	if (err) {
		free(buf);
		errno = -err;
		return NULL;
	}
	*len = size;
	return buf;
}
