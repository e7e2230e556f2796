/* SPDX-License-Identifier: GPL-2.0 */
/*
 * zsm: differences between the kernels zsm builds for (6.1, 6.12), in one
 * place. Code elsewhere uses the names defined here, never version checks.
 */
#ifndef _ZSM_COMPAT_H
#define _ZSM_COMPAT_H

#include <linux/version.h>

#if !defined(CONFIG_64BIT)
#error "zsm encodes object locations in 64-bit handle words"
#endif

#endif /* _ZSM_COMPAT_H */
