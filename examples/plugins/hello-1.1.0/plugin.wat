;; hello 1.1.0: the same plugin greeting in German ("hallo, "), the version README.md's walk-through
;; upgrades to and rolls back from. greet(name) returns "hallo, " + name; an empty name is an error.
(module
  ;; The only host function used; it needs no capability.
  (import "forgeone" "error" (func $error (param i32 i32)))

  ;; One page to start; the maximum matches the manifest's limits.memoryMiB (1 MiB = 16 pages).
  (memory (export "memory") 1 16)

  ;; Static data lives below 1024; the heap starts above it.
  (data (i32.const 16) "hallo, ")                                               ;; 7 bytes
  (data (i32.const 32) "greet needs a name: the input was empty")               ;; 39 bytes
  (data (i32.const 80) "out of memory: greet could not allocate its output")    ;; 50 bytes

  ;; Next free byte. A fresh instance serves each call, so the heap is never freed.
  (global $heap (mut i32) (i32.const 1024))

  (func (export "forgeone_abi_version") (result i32)
    i32.const 1)

  ;; Bump allocator: returns an 8-byte aligned block of $size bytes, growing memory when
  ;; needed, or 0 when memory cannot grow (the host treats 0 as out of memory).
  (func $alloc (export "forgeone_alloc") (param $size i32) (result i32)
    (local $ptr i32)
    (local $end i32)
    (local $pages i32)
    ;; Sizes of 2 GiB or more cannot fit in a wasm32 memory; refusing them also keeps $end from wrapping.
    (if (i32.lt_s (local.get $size) (i32.const 0))
      (then (return (i32.const 0))))
    (local.set $ptr (i32.and (i32.add (global.get $heap) (i32.const 7)) (i32.const -8)))
    (local.set $end (i32.add (local.get $ptr) (local.get $size)))
    ;; Pages needed to hold [0, $end), rounded up without overflowing.
    (local.set $pages
      (i32.add
        (i32.shr_u (local.get $end) (i32.const 16))
        (i32.ne (i32.and (local.get $end) (i32.const 0xffff)) (i32.const 0))))
    (if (i32.gt_u (local.get $pages) (memory.size))
      (then
        (if (i32.eq (memory.grow (i32.sub (local.get $pages) (memory.size))) (i32.const -1))
          (then (return (i32.const 0))))))
    (global.set $heap (local.get $end))
    (local.get $ptr))

  ;; Byte-by-byte copy; a loop rather than memory.copy so the module needs no post-MVP feature.
  (func $copy (param $dst i32) (param $src i32) (param $len i32)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $len)))
        (i32.store8 (local.get $dst) (i32.load8_u (local.get $src)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 1)))
        (local.set $src (i32.add (local.get $src) (i32.const 1)))
        (local.set $len (i32.sub (local.get $len) (i32.const 1)))
        (br $next))))

  ;; Handler: (ptr, len) of the input; returns (out_ptr << 32) | out_len, or -1 after calling error.
  (func (export "greet") (param $ptr i32) (param $len i32) (result i64)
    (local $out i32)
    (local $outLen i32)
    (if (i32.eqz (local.get $len))
      (then
        (call $error (i32.const 32) (i32.const 39))
        (return (i64.const -1))))
    (local.set $outLen (i32.add (i32.const 7) (local.get $len)))
    (local.set $out (call $alloc (local.get $outLen)))
    (if (i32.eqz (local.get $out))
      (then
        (call $error (i32.const 80) (i32.const 50))
        (return (i64.const -1))))
    (call $copy (local.get $out) (i32.const 16) (i32.const 7))
    (call $copy (i32.add (local.get $out) (i32.const 7)) (local.get $ptr) (local.get $len))
    (i64.or
      (i64.shl (i64.extend_i32_u (local.get $out)) (i64.const 32))
      (i64.extend_i32_u (local.get $outLen))))
)
