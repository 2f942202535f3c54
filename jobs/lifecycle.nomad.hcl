# Task lifecycle: a prestart task prepares data, a sidecar runs alongside the main
# task, and a poststart task announces readiness.
job "lifecycle" {
  type = "service"

  group "app" {
    task "init" {
      driver = "raw_exec"

      lifecycle {
        hook    = "prestart"
        sidecar = false
      }

      config {
        command = "sh"
        args    = ["-c", "echo ready > ${NOMAD_ALLOC_DIR}/data/init.txt"]
      }

      resources {
        cpu    = 20
        memory = 16
      }
    }

    task "log-shipper" {
      driver = "raw_exec"

      lifecycle {
        hook    = "prestart"
        sidecar = true
      }

      config {
        command = "sh"
        args    = ["-c", "while true; do date; sleep 30; done"]
      }

      resources {
        cpu    = 20
        memory = 16
      }
    }

    task "main" {
      driver = "raw_exec"
      leader = true

      config {
        command = "sh"
        args    = ["-c", "cat ${NOMAD_ALLOC_DIR}/data/init.txt; sleep 3600"]
      }

      resources {
        cpu    = 50
        memory = 32
      }
    }

    task "announce" {
      driver = "raw_exec"

      lifecycle {
        hook = "poststart"
      }

      config {
        command = "sh"
        args    = ["-c", "echo main is up"]
      }

      resources {
        cpu    = 20
        memory = 16
      }
    }
  }
}
