# A periodic batch job: every five minutes, write a small report; never two at once.
job "periodic-report" {
  type = "batch"

  periodic {
    crons            = ["*/5 * * * *"]
    prohibit_overlap = true
    time_zone        = "UTC"
  }

  group "report" {
    task "summarise" {
      driver = "raw_exec"

      config {
        command = "sh"
        args    = ["-c", "date -u > ${NOMAD_TASK_DIR}/report.txt && uname -a >> ${NOMAD_TASK_DIR}/report.txt && cat ${NOMAD_TASK_DIR}/report.txt"]
      }

      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}
