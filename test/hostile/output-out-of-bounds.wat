;; Returns an output range that ends past the end of its one page of memory.
(module
  (memory (export "memory") 1 1)
  (global $heap (mut i32) (i32.const 1024))
  (func $alloc (export "forgeone_alloc") (param $n i32) (result i32) (local $p i32)
    (local.set $p (global.get $heap))
    (global.set $heap (i32.add (local.get $p) (local.get $n)))
    (local.get $p))
  (func (export "forgeone_abi_version") (result i32) i32.const 1)
  (func (export "run") (param i32 i32) (result i64)
    ;; ptr 60000, len 10000: 70000 > 65536
    (i64.or (i64.shl (i64.const 60000) (i64.const 32)) (i64.const 10000)))
)
