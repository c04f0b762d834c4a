module github.com/kafka-restaurants/kafka-restaurants/apps/kit

go 1.26.0

require (
	github.com/dapr/go-sdk v1.14.2 // indirect
	github.com/go-chi/chi/v5 v5.5.0 // indirect
	github.com/stretchr/testify v1.12.1 // indirect
	golang.org/x/text v0.37.0 // indirect
)
