# A sysbatch job: run once on every node to clear old scratch files, then stop.
job "sysbatch-cleanup" {
  type = "sysbatch"

  group "cleanup" {
    task "tmp" {
      driver = "raw_exec"

      config {
        command = "sh"
        args    = ["-c", "find /tmp -maxdepth 1 -name 'nomadts-scratch-*' -mtime +1 -exec rm -rf {} + ; echo cleaned"]
      }

      resources {
        cpu    = 20
        memory = 16
      }
    }
  }
}
