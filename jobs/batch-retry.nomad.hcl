# A batch task that fails its first two attempts and succeeds on the third: it counts
# attempts in a marker file in the shared alloc dir, which survives task restarts.
job "batch-retry" {
  type = "batch"

  group "work" {
    restart {
      attempts = 3
      interval = "5m"
      delay    = "2s"
      mode     = "fail"
    }

    reschedule {
      attempts  = 0
      unlimited = false
    }

    task "flaky" {
      driver = "raw_exec"

      config {
        command = "sh"
        # $${...} is a literal ${...} for the shell; ${NOMAD_ALLOC_DIR} is filled in at runtime.
        args = ["-c", <<-EOT
          marker="${NOMAD_ALLOC_DIR}/attempts"
          n=$(cat "$marker" 2>/dev/null || echo 0)
          n=$((n + 1))
          echo "$n" > "$marker"
          echo "attempt $${n}"
          [ "$n" -ge 3 ] || exit 1
          echo done
          EOT
        ]
      }

      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}
