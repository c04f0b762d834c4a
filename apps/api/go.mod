module github.com/kafka-restaurants/kafka-restaurants/apps/api

go 1.26
