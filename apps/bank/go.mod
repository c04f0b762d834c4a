module github.com/kafka-restaurants/kafka-restaurants/apps/bank

go 1.26

require (
	github.com/go-chi/chi/v5 v5.2.2 // indirect
	github.com/stretchr/testify v1.11.1 // indirect
)
