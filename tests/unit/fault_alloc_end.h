/* SPDX-License-Identifier: MIT */
/* Ends the section started by fault_alloc.h: the test's own code uses the
 * real allocator again. */
#undef malloc
#undef calloc
#undef realloc
#undef free
