module github.com/kafka-restaurants/kafka-restaurants/apps/transactions

go 1.26
