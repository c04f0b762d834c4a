module github.com/kafka-restaurants/kafka-restaurants/apps/catalog

go 1.26
