# A small web service: python3's built-in HTTP server on a dynamic port, with a
# nomad-provider service and an HTTP health check.
job "hello-web" {
  type        = "service"
  datacenters = ["*"]

  group "web" {
    count = 2

    network {
      port "http" {}
    }

    service {
      name     = "hello-web"
      port     = "http"
      provider = "nomad"
      tags     = ["web"]

      check {
        type     = "http"
        path     = "/"
        interval = "10s"
        timeout  = "2s"
      }
    }

    update {
      max_parallel     = 1
      min_healthy_time = "5s"
      healthy_deadline = "1m"
    }

    task "server" {
      driver = "raw_exec"

      config {
        command = "python3"
        args    = ["-m", "http.server", "${NOMAD_PORT_http}", "--bind", "0.0.0.0", "--directory", "local"]
      }

      template {
        data        = "<h1>hello from {{ env \"NOMAD_ALLOC_ID\" }}</h1>\n"
        destination = "local/index.html"
      }

      resources {
        cpu    = 100
        memory = 64
      }
    }
  }
}
