/* SPDX-License-Identifier: MIT */
/* test_roots dlopens this library: its data and bss are roots. */
long roots_dl_data = 42;
long roots_dl_bss[4];
