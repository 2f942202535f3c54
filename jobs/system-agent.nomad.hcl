# A system job: one instance on every eligible Linux node, heart-beating to its log.
job "system-agent" {
  type     = "system"
  priority = 70

  constraint {
    attribute = "${attr.kernel.name}"
    value     = "linux"
  }

  group "agent" {
    task "beat" {
      driver = "raw_exec"

      config {
        command = "sh"
        args    = ["-c", "while true; do echo \"beat from ${node.unique.name}\"; sleep 10; done"]
      }

      kill_timeout = "2s"
      kill_signal  = "SIGTERM"

      resources {
        cpu    = 20
        memory = 16
      }
    }
  }
}
