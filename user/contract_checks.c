// SPDX-License-Identifier: MIT
/*
 * Compile-time checks of the kernel/user contract (include/pyebpf.h): the
 * sizes and offsets the BPF side was compiled with must be the ones this
 * side reads, with no implicit padding anywhere.
 */
#include <linux/types.h>
#include <stddef.h>

#include "pyebpf.h"

_Static_assert(sizeof(struct pyebpf_py_offsets) == 48, "pyebpf_py_offsets layout");
_Static_assert(sizeof(struct pyebpf_proc) == 120, "pyebpf_proc layout");
_Static_assert(offsetof(struct pyebpf_proc, off) == 16, "pyebpf_proc.off");
_Static_assert(offsetof(struct pyebpf_proc, tstate_read_size) == 64, "pyebpf_proc sizes");
_Static_assert(offsetof(struct pyebpf_proc, gil_locked_addr) == 72, "pyebpf_proc gil");
_Static_assert(sizeof(struct pyebpf_frame) == 16, "pyebpf_frame layout");
_Static_assert(PYEBPF_SAMPLE_HEADER_SIZE == 56, "pyebpf_sample header");
_Static_assert(offsetof(struct pyebpf_sample, kframes_room) ==
		       PYEBPF_SAMPLE_HEADER_SIZE + PYEBPF_MAX_FRAMES * sizeof(struct pyebpf_frame),
	       "kernel stack room follows the frames");
_Static_assert(offsetof(struct pyebpf_sample, frames) == PYEBPF_SAMPLE_HEADER_SIZE,
	       "pyebpf_sample frames follow the header");
_Static_assert((PYEBPF_MAX_FRAMES & (PYEBPF_MAX_FRAMES - 1)) == 0, "power of two");
_Static_assert((PYEBPF_TSTATE_WINDOW & (PYEBPF_TSTATE_WINDOW - 1)) == 0, "power of two");
_Static_assert((PYEBPF_FRAME_WINDOW & (PYEBPF_FRAME_WINDOW - 1)) == 0, "power of two");
_Static_assert((PYEBPF_CODE_WINDOW & (PYEBPF_CODE_WINDOW - 1)) == 0, "power of two");
_Static_assert((PYEBPF_FRAME_CHUNK & (PYEBPF_FRAME_CHUNK - 1)) == 0, "power of two");
_Static_assert(PYEBPF_DEFAULT_FRAMES <= PYEBPF_MAX_FRAMES, "default within the cap");
/* pyebpf_sample.flags and .kind are narrow */
_Static_assert(PYEBPF_SAMPLE_ACTIVE <= 0xffff, "sample flags fit in 16 bits");
_Static_assert(PYEBPF_KIND_DUMP <= 0xff, "sample kinds fit in 8 bits");
/* process events share the ring buffer: same head as a sample up to `kind` */
_Static_assert(sizeof(struct pyebpf_process_event) == 72, "pyebpf_process_event layout");
_Static_assert(offsetof(struct pyebpf_process_event, pid) == offsetof(struct pyebpf_sample, pid),
	       "process event pid");
_Static_assert(offsetof(struct pyebpf_process_event, n_frames) ==
		       offsetof(struct pyebpf_sample, n_frames),
	       "process event n_frames");
_Static_assert(offsetof(struct pyebpf_process_event, n_kframes) ==
		       offsetof(struct pyebpf_sample, n_kframes),
	       "process event n_kframes");
_Static_assert(offsetof(struct pyebpf_process_event, kind) == offsetof(struct pyebpf_sample, kind),
	       "process event kind");
_Static_assert(sizeof(struct pyebpf_process_event) >= PYEBPF_SAMPLE_HEADER_SIZE,
	       "process event holds a sample header");

/* ISO C wants at least one declaration in a translation unit. */
extern const int pyebpf_contract_checked;
const int pyebpf_contract_checked = 1;
