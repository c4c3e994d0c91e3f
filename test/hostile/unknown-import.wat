;; Imports a host function ABI v1 does not define.
(module
  (import "forgeone" "spawn_process" (func $spawn (param i32 i32) (result i32)))
  (memory (export "memory") 1 4)
  (global $heap (mut i32) (i32.const 1024))
  (func $alloc (export "forgeone_alloc") (param $n i32) (result i32) (local $p i32)
    (local.set $p (global.get $heap))
    (global.set $heap (i32.add (local.get $p) (local.get $n)))
    (local.get $p))
  (func (export "forgeone_abi_version") (result i32) i32.const 1)
  (func (export "run") (param i32 i32) (result i64)
    (i64.extend_i32_s (call $spawn (local.get 0) (local.get 1))))
)
