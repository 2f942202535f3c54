# Input variables: typed, with defaults; see variables.vars and -var.
variable "datacenters" {
  type    = list(string)
  default = ["*"]
}

variable "count" {
  type        = number
  default     = 1
  description = "instances of the worker"
}

variable "message" {
  type = string
}

variable "memory" {
  type    = number
  default = 32
}

job "variables" {
  datacenters = var.datacenters

  meta {
    message = var.message
  }

  group "worker" {
    count = var.count

    task "echo" {
      driver = "raw_exec"

      config {
        command = "sh"
        # var.message is substituted now; $${HOME} stays a literal ${HOME} for the shell.
        args = ["-c", "echo '${var.message}' from $${HOME} in ${NOMAD_TASK_NAME}; sleep 3600"]
      }

      resources {
        cpu    = 50
        memory = var.memory
      }
    }
  }
}
